package main

import (
	"context"
	"io"
	"net/http"
	"time"
)

// requestTimeout bounds every API request except watches, so a request caught by an
// API server restart fails (and is retried) instead of hanging.
type requestTimeout struct {
	rt      http.RoundTripper
	timeout time.Duration
}

func (t requestTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Query().Get("watch") == "true" {
		return t.rt.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
