package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/didacto/didacto/wire"
)

// SetHand raises or lowers the student's hand in a lecture.
func (c *Client) SetHand(ctx context.Context, lectureID int64, raised bool) error {
	method := http.MethodPut
	if !raised {
		method = http.MethodDelete
	}
	if err := c.call(ctx, method, fmt.Sprintf("/api/v1/lectures/%d/hand", lectureID), true, nil, nil); err != nil {
		return fmt.Errorf("hand in lecture %d: %w", lectureID, err)
	}
	return nil
}

// Reply answers a professor's message in one line.
func (c *Client) Reply(ctx context.Context, lectureID, commandID int64, text string) error {
	if err := c.call(ctx, http.MethodPost, fmt.Sprintf("/api/v1/lectures/%d/commands/%d/reply", lectureID, commandID), true,
		wire.ReplyRequest{Text: text}, nil); err != nil {
		return fmt.Errorf("answering the message: %w", err)
	}
	return nil
}
