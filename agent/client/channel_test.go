package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/wire"
)

// TestChannelBadInputFromServer: what a broken or newer server sends is
// skipped or ends the channel with an error; it never crashes the agent.
func TestChannelBadInputFromServer(t *testing.T) {
	msgs := []string{
		`{"type":"hello","version":99,"lease_ms":10000}`, // a newer server
		`{"type":"lock_screens","lecture_id":3}`,         // a command this agent does not know
		`not json`,
		`{"lecture_id":3}`, // no type
		`{"type":"lectures_changed","lecture_id":4}`,
		`{"type":"lectures_changed","pad":"` + strings.Repeat("x", wire.MaxAgentEventBytes) + `"}`, // oversized
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/agent/channel" || r.Header.Get("Authorization") != "Bearer access-1" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for _, m := range msgs {
			if err := c.Write(r.Context(), websocket.MessageText, []byte(m)); err != nil {
				return
			}
		}
		_, _, _ = c.Read(r.Context()) // until the agent goes
	}))
	defer srv.Close()
	store := &client.MemoryStore{}
	_ = store.Save(context.Background(), client.Tokens{AccessToken: "access-1", RefreshToken: "r", ExpiresAt: time.Now().Add(time.Hour)})
	c, err := client.New(client.Config{Server: srv.URL, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var types []string
	bad := 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.Channel(ctx, client.ChannelHandlers{
		Event: func(ev wire.AgentEvent) { mu.Lock(); types = append(types, ev.Type); mu.Unlock() },
		Bad:   func(error) { mu.Lock(); bad++; mu.Unlock() },
	})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Channel after an oversized message = %v (ctx %v), want an error", err, ctx.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(types, ",") != "hello,lock_screens,lectures_changed" || bad != 2 {
		t.Errorf("events %v, bad %d", types, bad)
	}
}

func TestChannelAbsentOnOlderServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	store := &client.MemoryStore{}
	_ = store.Save(context.Background(), client.Tokens{AccessToken: "a", RefreshToken: "r", ExpiresAt: time.Now().Add(time.Hour)})
	c, _ := client.New(client.Config{Server: srv.URL, Store: store})
	_ = c.Resume(context.Background())
	if err := c.Channel(context.Background(), client.ChannelHandlers{}); !errors.Is(err, client.ErrNoChannel) {
		t.Fatalf("Channel on a server without one = %v", err)
	}
}

func FuzzParseAgentEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","version":1,"lease_ms":10000}`, `{"type":"lectures_changed","lecture_id":4}`,
		`{"type":"lock_screens","lecture_id":3,"extra":[1,2]}`, `{}`, `null`, `[]`, `{"type":7}`, `{"type":"x","lecture_id":1e99}`,
		`{"type":"locks","command_id":7,"locks":[{"lecture_id":3,"mode":"lock","until":"2026-12-04T10:00:00Z"}]}`,
		`{"type":"command","command":{"id":8,"kind":"open_url","url":"https://example.org"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := client.ParseAgentEvent(b)
		if err != nil {
			if !reflect.DeepEqual(ev, wire.AgentEvent{}) {
				t.Fatalf("error with an event %+v", ev)
			}
			return
		}
		if ev.Type == "" {
			t.Fatal("an event without a type")
		}
	})
}
