package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// startLogServer serves the kubelet endpoint the API server uses for `kubectl logs`:
// GET /containerLogs/{namespace}/{pod}/{container}?follow=&tailLines=&limitBytes=
func (n *Node) startLogServer() error {
	caPEM, err := os.ReadFile(n.cfg.ClientCA)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("no certificate in %s", n.cfg.ClientCA)
	}
	cert, err := tls.LoadX509KeyPair(n.cfg.TLSCert, n.cfg.TLSKey)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/containerLogs/", n.serveLogs)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", n.cfg.Port))
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert}, ClientCAs: pool,
			ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12,
		},
	}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
			log.Fatalf("kubelet endpoint: %v", err)
		}
	}()
	return nil
}

func (n *Node) serveLogs(w http.ResponseWriter, req *http.Request) {
	if req.TLS == nil || len(req.TLS.VerifiedChains) == 0 {
		http.Error(w, "client certificate required", http.StatusUnauthorized)
		return
	}
	parts := strings.Split(strings.TrimPrefix(req.URL.Path, "/containerLogs/"), "/")
	if len(parts) != 3 {
		http.Error(w, "want /containerLogs/{namespace}/{pod}/{container}", http.StatusBadRequest)
		return
	}
	ns, name, cname := parts[0], parts[1], parts[2]
	n.mu.Lock()
	r := n.names[ns+"/"+name]
	n.mu.Unlock()
	if r == nil {
		http.Error(w, fmt.Sprintf("pod %s/%s not found on node %s", ns, name, n.cfg.Name), http.StatusNotFound)
		return
	}
	var k *ctr
	for _, c := range append(append([]*ctr{}, r.inits...), r.ctrs...) {
		if c.spec.Name == cname {
			k = c
		}
	}
	if k == nil {
		http.Error(w, fmt.Sprintf("container %s is not valid for pod %s", cname, name), http.StatusBadRequest)
		return
	}
	q := req.URL.Query()
	follow := q.Get("follow") == "true" || q.Get("follow") == "1"
	limit := int64(-1)
	if v := q.Get("limitBytes"); v != "" {
		limit, _ = strconv.ParseInt(v, 10, 64)
	}
	tail := -1
	if v := q.Get("tailLines"); v != "" {
		tail, _ = strconv.Atoi(v)
	}
	f, err := os.Open(k.logPath)
	if err != nil {
		r.mu.Lock()
		waiting := k.status.State.Waiting != nil
		r.mu.Unlock()
		if waiting {
			http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start", cname, name), http.StatusBadRequest)
			return
		}
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain")
	var out io.Writer = w
	if limit >= 0 {
		out = &limitWriter{w: w, n: limit}
	}
	if tail >= 0 {
		b, _ := io.ReadAll(f)
		b = lastLines(b, tail)
		_, _ = out.Write(b)
	} else {
		_, _ = io.Copy(out, f)
	}
	flush := func() {
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
	flush()
	if !follow {
		return
	}
	for {
		r.mu.Lock()
		running, done := k.running, k.logDone
		r.mu.Unlock()
		nw, _ := io.Copy(out, f)
		if nw > 0 {
			flush()
		}
		if lw, ok := out.(*limitWriter); ok && lw.n <= 0 {
			return
		}
		if !running {
			r.mu.Lock()
			over := r.finished || r.terminating || (k.status.State.Terminated != nil && !r.restartsPossible())
			r.mu.Unlock()
			if over {
				_, _ = io.Copy(out, f)
				flush()
				return
			}
		}
		select {
		case <-req.Context().Done():
			return
		case <-done:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *podRun) restartsPossible() bool {
	return r.pod.Spec.RestartPolicy != "Never"
}

func lastLines(b []byte, n int) []byte {
	if n == 0 {
		return nil
	}
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	cnt := 0
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			cnt++
			if cnt == n {
				return b[i+1:]
			}
		}
	}
	return b
}

type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return len(p), nil
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	l.n -= int64(len(p))
	_, err := l.w.Write(p)
	return len(p), err
}
