// recommend-server serves a twotower model over HTTP.
//
//	recommend-server -model movielens.tt [-addr 127.0.0.1:8080] [-timestamp UNIX]
//
//	GET /recommend?user=42&k=10[&timestamp=879024327][&exclude=KEY]...
//	    -> {"user": "42", "timestamp": 879024327, "k": 10, "model": {...},
//	        "recommendations": [{"id": 49, "key": "Star Wars (1977)", "score": 4.21}, ...]}
//	GET /healthz -> {"status": "ok", "model": {...}}
//
// `user` fills the query tower's user column (-user-column, default user_id). `timestamp`
// (Unix seconds) fills its time column (-time-column, default timestamp) when the query tower
// reads one; without the parameter the server uses -timestamp, and without that flag the
// time of the request. (For MovieLens 100k, whose ratings end in April 1998, pass a timestamp
// of that period, e.g. -timestamp 893286638, the last rating.) `k` is 1..-max-k, default 10.
// `exclude` (repeatable) names candidate keys not to recommend; unknown keys are ignored.
// Bad parameters get a 4xx answer {"error": "..."}.
//
// SIGHUP reloads the model file (replace it atomically, e.g. by renaming a complete file over
// it): requests in flight finish on the model they started with, which the library frees after
// the last of them (a twotower.ModelSlot holds the current model; docs/c-api.md, "Replacing a
// served model"); a reload that fails is logged and the server keeps the model it has.
// SIGINT and SIGTERM shut the server down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"twotower"
)

func main() {
	modelPath := flag.String("model", "", "the model file to serve (required)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (port 0: any free port)")
	timestamp := flag.Int64("timestamp", 0, "Unix time for requests without a timestamp parameter (0: the request's time)")
	userColumn := flag.String("user-column", "user_id", "the query column filled from the user parameter")
	timeColumn := flag.String("time-column", "timestamp", "the query column filled from the timestamp parameter")
	maxK := flag.Int("max-k", 1000, "the largest k a request may ask for")
	delay := flag.Duration("request-delay", 0, "testing aid: hold each request's model this long before querying it")
	flag.Parse()
	logger := log.New(os.Stderr, "recommend-server: ", log.LstdFlags)
	if *modelPath == "" || flag.NArg() > 0 || *maxK < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*modelPath, *addr, config{defaultTimestamp: *timestamp, maxK: *maxK, requestDelay: *delay},
		columns{user: *userColumn, time: *timeColumn}, logger); err != nil {
		logger.Fatal(err)
	}
}

func run(modelPath, addr string, cfg config, cols columns, logger *log.Logger) error {
	logger.Printf("twotower %s (C ABI %d)", twotower.LibraryVersion(), twotower.LibraryABIVersion())
	ms := &models{path: modelPath, columns: cols, logger: logger}
	if err := ms.reload(); err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			logger.Printf("SIGHUP: reloading %s", modelPath)
			if err := ms.reload(); err != nil {
				logger.Printf("reload failed, still serving generation %d: %v", ms.latest.Load().generation, err)
			}
		}
	}()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// The first line on stdout says where to connect (the test reads it when the port is 0).
	fmt.Printf("listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: newHandler(ms, cfg), ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Printf("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	signal.Stop(hup)
	ms.close()
	return nil
}
