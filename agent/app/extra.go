package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/wire"
)

// extra makes the student calls agent/client does not wrap (register, own
// enrollments, leave, cancel). It borrows the client's tokens through the
// token store and asks the client to rotate them on a 401, so there is still
// one refresh path.
type extra struct {
	base   string
	http   *http.Client
	ua     string
	tokens func() client.Tokens
	api    *client.Client
}

func newExtra(server string, allowHTTP bool, ua string, api *client.Client, tokens func() client.Tokens) (*extra, error) {
	u, err := client.CheckServer(server, allowHTTP)
	if err != nil {
		return nil, err
	}
	return &extra{base: u.String(), http: &http.Client{Timeout: 30 * time.Second}, ua: ua, tokens: tokens, api: api}, nil
}

func (x *extra) register(ctx context.Context, r wire.RegisterRequest) (wire.User, error) {
	var u wire.User
	if err := x.call(ctx, http.MethodPost, "/api/v1/auth/register", false, r, &u); err != nil {
		return wire.User{}, fmt.Errorf("register: %w", err)
	}
	return u, nil
}

func (x *extra) waiting(ctx context.Context) ([]wire.Enrollment, error) {
	var all []wire.Enrollment
	for page := 1; page <= 100; page++ {
		var p wire.Page[wire.Enrollment]
		path := fmt.Sprintf("/api/v1/enrollments?status=waiting&page=%d&size=%d", page, wire.MaxPageSize)
		if err := x.call(ctx, http.MethodGet, path, true, nil, &p); err != nil {
			return nil, fmt.Errorf("pending requests: %w", err)
		}
		all = append(all, p.Items...)
		if len(p.Items) == 0 || len(all) >= p.Total {
			break
		}
	}
	return all, nil
}

func (x *extra) leave(ctx context.Context, lectureID int64) error {
	if err := x.call(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/lectures/%d/membership", lectureID), true, nil, nil); err != nil {
		return fmt.Errorf("leave lecture %d: %w", lectureID, err)
	}
	return nil
}

func (x *extra) cancel(ctx context.Context, enrollmentID int64) error {
	if err := x.call(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/enrollments/%d", enrollmentID), true, nil, nil); err != nil {
		return fmt.Errorf("cancel request %d: %w", enrollmentID, err)
	}
	return nil
}

func (x *extra) call(ctx context.Context, method, path string, auth bool, in, out any) error {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, x.base+path, bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("building request: %w", err)
		}
		req.Header.Set("User-Agent", x.ua)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if auth {
			t := x.tokens()
			if t.AccessToken == "" {
				if t.RefreshToken == "" || attempt > 0 {
					return client.ErrNotLoggedIn
				}
				if err := x.api.Refresh(ctx); err != nil {
					return err
				}
				continue
			}
			req.Header.Set("Authorization", "Bearer "+t.AccessToken)
		}
		resp, err := x.http.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if rerr != nil {
				return fmt.Errorf("%s %s: reading answer: %w", method, path, rerr)
			}
			if out == nil || len(body) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("decoding %s %s answer: %w", method, path, err)
			}
			return nil
		}
		if auth && attempt == 0 && resp.StatusCode == http.StatusUnauthorized {
			if err := x.api.Refresh(ctx); err != nil {
				return err
			}
			continue
		}
		return &client.Error{Problem: client.ParseProblem(resp.StatusCode, body)}
	}
}

// errNoCode: join needs a code.
var errNoCode = errors.New("enter the lecture code")
