package agentchan_test

import (
	"testing"

	"github.com/didacto/didacto/server/agentchan"
	"github.com/didacto/didacto/wire"
)

// FuzzParseReply: what an agent sends is untrusted; a reply is either
// refused or has a type, a command and a lecture, and fits the limit.
func FuzzParseReply(f *testing.F) {
	f.Add([]byte(`{"type":"ack","command_id":7,"lecture_id":42,"state":"applied"}`))
	f.Add([]byte(`{"type":"ack","command_id":-1,"lecture_id":42}`))
	f.Add([]byte(`{"type":"ack"`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := agentchan.ParseReply(b)
		if err != nil {
			return
		}
		if rep.Type == "" || rep.CommandID <= 0 || rep.LectureID <= 0 || len(b) > wire.MaxAgentReplyBytes {
			t.Fatalf("accepted %q as %+v", b, rep)
		}
	})
}
