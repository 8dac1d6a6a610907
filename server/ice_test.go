package server

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/wire"
)

func TestICECredentials(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	urls := []string{"stun:stun.school.example:3478", "turn:turn.school.example:3478?transport=udp", "turns:turn.school.example:5349"}

	static := ICE{URLs: urls, Username: "lab", Credential: "s3cret"}.For(7)
	want := []wire.ICEServer{{URLs: urls[:1]}, {URLs: urls[1:], Username: "lab", Credential: "s3cret"}}
	if !reflect.DeepEqual(static, want) {
		t.Fatalf("static: %+v", static)
	}

	// The TURN REST scheme, checked the way coturn checks it.
	eph := ICE{URLs: urls, Secret: "coturn-secret", TTL: time.Hour, Now: func() time.Time { return now }}.For(42)
	if len(eph) != 2 || eph[0].Username != "" || len(eph[1].URLs) != 2 {
		t.Fatalf("ephemeral: %+v", eph)
	}
	exp, user, ok := strings.Cut(eph[1].Username, ":")
	if !ok || user != "42" || exp != strconv.FormatInt(now.Add(time.Hour).Unix(), 10) {
		t.Fatalf("username %q", eph[1].Username)
	}
	m := hmac.New(sha1.New, []byte("coturn-secret"))
	m.Write([]byte(eph[1].Username))
	if eph[1].Credential != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		t.Fatalf("credential %q", eph[1].Credential)
	}
	if other := (ICE{URLs: urls, Secret: "coturn-secret", TTL: time.Hour, Now: func() time.Time { return now }}).For(43); other[1].Credential == eph[1].Credential {
		t.Fatal("two users share a TURN credential")
	}
	if stunOnly := (ICE{URLs: urls[:1]}).For(1); len(stunOnly) != 1 || stunOnly[0].Username != "" {
		t.Fatalf("STUN only: %+v", stunOnly)
	}
}
