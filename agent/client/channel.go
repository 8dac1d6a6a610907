package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/wire"
)

// ErrNoChannel: the server has no agent channel (an older server); the
// agent polls instead.
var ErrNoChannel = errors.New("the server has no agent channel")

// ChannelHandlers receive what arrives on the agent channel.
type ChannelHandlers struct {
	Event func(wire.AgentEvent)
	// Bad hears a message that was not an event (it is skipped).
	Bad func(error)
	// Outbox holds the replies to send (command acknowledgements); what
	// is not sent when the channel ends stays in it for the next one.
	Outbox chan wire.AgentReply
}

// Channel opens the agent channel and hands every event to h until ctx ends
// (it then closes the channel cleanly, so the server marks the student
// offline at once, and returns nil) or the channel fails (it returns why).
// A refused token is refreshed once.
func (c *Client) Channel(ctx context.Context, h ChannelHandlers) error {
	u := *c.base
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path += "/api/v1/agent/channel"
	// The websocket library refuses a client with a Timeout (the dial has
	// its own, and the connection lives on): same transport, no timeout.
	hc := *c.http
	hc.Timeout = 0
	var conn *websocket.Conn
	for attempt := 0; ; attempt++ {
		tok, err := c.AccessToken(ctx)
		if err != nil {
			return err
		}
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		var resp *http.Response
		conn, resp, err = websocket.Dial(dctx, u.String(), &websocket.DialOptions{
			HTTPClient: &hc, HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}, "User-Agent": {c.ua}},
		})
		cancel()
		if err == nil {
			break
		}
		st := 0
		if resp != nil {
			st = resp.StatusCode
		}
		switch {
		case st == http.StatusNotFound:
			return ErrNoChannel
		case st == http.StatusUnauthorized && attempt == 0:
			if err := c.refreshAfter(ctx, tok); err != nil {
				return err
			}
			continue
		case st != 0:
			return &Error{Problem: ParseProblem(st, nil)}
		}
		return fmt.Errorf("dialing the agent channel: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wire.MaxAgentEventBytes)
	// Reading with ctx would drop the connection without a close frame when
	// ctx ends; close it cleanly instead and let the read loop see the end.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		_ = conn.Close(websocket.StatusNormalClosure, "agent stopping")
	})
	defer func() {
		if !stop() {
			<-closed
		}
	}()
	if h.Outbox != nil {
		wctx, stopWriter := context.WithCancel(ctx)
		written := make(chan struct{})
		go func() { defer close(written); writeReplies(wctx, conn, h.Outbox) }()
		defer func() { stopWriter(); <-written }()
	}
	for {
		_, b, err := conn.Read(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if code := websocket.CloseStatus(err); code == 4401 {
				return &Error{Problem: ParseProblem(http.StatusUnauthorized, nil)}
			}
			return fmt.Errorf("agent channel: %w", err)
		}
		ev, err := ParseAgentEvent(b)
		if err != nil {
			if h.Bad != nil {
				h.Bad(err)
			}
			continue
		}
		if h.Event != nil {
			h.Event(ev)
		}
	}
}

// writeReplies sends the outbox's replies until ctx ends or a write fails
// (a reply that could not be written goes back to the outbox).
func writeReplies(ctx context.Context, conn *websocket.Conn, outbox chan wire.AgentReply) {
	for {
		select {
		case <-ctx.Done():
			return
		case rep := <-outbox:
			b, err := json.Marshal(rep)
			if err != nil {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				select {
				case outbox <- rep:
				default:
				}
				return
			}
		}
	}
}

// ParseAgentEvent decodes one message of the agent channel; a message that
// is not a JSON object with a type is an error.
func ParseAgentEvent(b []byte) (wire.AgentEvent, error) {
	var ev wire.AgentEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return wire.AgentEvent{}, fmt.Errorf("agent channel: not an event (%d bytes): %w", len(b), err)
	}
	if ev.Type == "" {
		return wire.AgentEvent{}, fmt.Errorf("agent channel: message without a type (%d bytes)", len(b))
	}
	return ev, nil
}
