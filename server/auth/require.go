package auth

import (
	"net/http"

	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/wire"
)

// HandlerFunc is a handler for an authenticated caller.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, id Identity) error

// Require authenticates the request and, when roles are given, checks the
// caller has one of them before calling fn.
func (s *Service) Require(fn HandlerFunc, roles ...wire.Role) http.Handler {
	return httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.Authenticate(r)
		if err != nil {
			return err
		}
		if len(roles) > 0 {
			ok := false
			for _, role := range roles {
				ok = ok || id.Role == role
			}
			if !ok {
				return httpx.Errorf(http.StatusForbidden, wire.CodeForbidden, "this action is for %s accounts", roles[0])
			}
		}
		return fn(w, r, id)
	})
}
