package server

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/didacto/didacto/wire"
)

// ICE hands out the STUN/TURN servers of a live session. TURN needs
// credentials: static ones, or (with Secret) the TURN REST API's short-
// lived ones that coturn checks with its static-auth-secret: the username
// is "<expiry unix time>:<user id>" and the password
// base64(HMAC-SHA1(secret, username)), so a leaked one expires by itself.
type ICE struct {
	URLs                 []string
	Username, Credential string
	Secret               string
	TTL                  time.Duration
	Now                  func() time.Time
}

// For is the list for one joining user.
func (c ICE) For(userID int64) []wire.ICEServer {
	var stun, turn []string
	for _, u := range c.URLs {
		if strings.HasPrefix(u, "turn") {
			turn = append(turn, u)
		} else {
			stun = append(stun, u)
		}
	}
	var out []wire.ICEServer
	if len(stun) > 0 {
		out = append(out, wire.ICEServer{URLs: stun})
	}
	if len(turn) > 0 {
		t := wire.ICEServer{URLs: turn, Username: c.Username, Credential: c.Credential}
		if c.Secret != "" {
			t.Username = fmt.Sprintf("%d:%d", c.Now().Add(c.TTL).Unix(), userID)
			m := hmac.New(sha1.New, []byte(c.Secret))
			m.Write([]byte(t.Username))
			t.Credential = base64.StdEncoding.EncodeToString(m.Sum(nil))
		}
		out = append(out, t)
	}
	return out
}
