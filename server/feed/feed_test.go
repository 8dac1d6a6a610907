package feed_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/feed"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func recv(t *testing.T, ch <-chan []byte, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if string(got) != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("no event %q within 3 s", want)
	}
}

func silent(t *testing.T, ch <-chan []byte) {
	t.Helper()
	select {
	case got := <-ch:
		t.Fatalf("unexpected event %q", got)
	case <-time.After(150 * time.Millisecond):
	}
}

func TestLocalTopicsAreSeparate(t *testing.T) {
	b := feed.NewLocal()
	ctx, cancel := context.WithCancel(context.Background())
	a1, a2, other := b.Subscribe(ctx, "a"), b.Subscribe(ctx, "a"), b.Subscribe(ctx, "b")
	if err := b.Publish(ctx, "a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	recv(t, a1, "x")
	recv(t, a2, "x")
	silent(t, other)
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for b.Subscribers("a") != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := b.Subscribers("a"); n != 0 {
		t.Fatalf("%d subscribers left after their context ended", n)
	}
}

// TestRedisAcrossReplicas: two buses on one Redis stand for two replicas;
// an event published on either reaches readers on both, and the readers
// hear again after Redis restarts.
func TestRedisAcrossReplicas(t *testing.T) {
	r := testenv.StartRedis(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	client := func() *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: r.Addr})
		t.Cleanup(func() { c.Close() })
		return c
	}
	one, two := feed.NewRedis(client(), "t:", logger), feed.NewRedis(client(), "t:", logger)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	on1, on2 := one.Subscribe(ctx, "lecture:1"), two.Subscribe(ctx, "lecture:1")
	other := two.Subscribe(ctx, "lecture:2")
	if err := one.Publish(ctx, "lecture:1", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	recv(t, on1, `{"n":1}`)
	recv(t, on2, `{"n":1}`)
	silent(t, other)

	r.Stop()
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := two.Publish(ctx, "lecture:1", []byte("again")); err != nil && time.Now().After(deadline) {
			t.Fatal(err)
		}
		select {
		case got := <-on1:
			if string(got) != "again" {
				t.Fatalf("got %q", got)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no event after the Redis restart")
		}
	}
}

// TestReaderThatFallsBehindIsToldSo: a reader that misses events gets its
// channel closed (after what it had), never a silent gap.
func TestReaderThatFallsBehindIsToldSo(t *testing.T) {
	l := feed.NewLocal()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := l.Subscribe(ctx, "t")
	for i := 0; i < feed.SubBuffer+10; i++ {
		_ = l.Publish(ctx, "t", []byte{byte(i)})
	}
	n := 0
	for range ch {
		n++
	}
	if n != feed.SubBuffer {
		t.Fatalf("read %d payloads before the close, want %d", n, feed.SubBuffer)
	}
	if l.Subscribers("t") != 0 {
		t.Fatal("the dropped reader is still subscribed")
	}
	// A reader that keeps up is not affected.
	ok := l.Subscribe(ctx, "t")
	_ = l.Publish(ctx, "t", []byte("x"))
	if b := <-ok; string(b) != "x" {
		t.Fatalf("got %q", b)
	}
}
