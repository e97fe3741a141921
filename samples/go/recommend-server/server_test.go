package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"twotower"
)

// The server runs as a subprocess built from this package, so that the test delivers a real
// SIGHUP to a real process.
var (
	serverBin   string
	raceEnabled bool // set by race_test.go under -race: the server is built with -race too
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "recommend-server-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "recommend-server")
	args := []string{"build", "-o", serverBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A small learnable problem: 40 users in 5 groups, each group rating its own 6 of 30 items,
// whose keys are prefix+number. Two models with different prefixes are easy to tell apart.
const testSpec = `{
  "name": "server-test",
  "query_tower": {"features": [
      {"column": "user_id", "kind": "string_lookup", "embedding_dim": 8},
      {"column": "timestamp", "kind": "normalization"}], "layers": [16]},
  "candidate_tower": {"id_column": "item_id", "features": [
      {"column": "item_id", "kind": "string_lookup", "embedding_dim": 8}], "layers": [16]},
  "training": {"batch_size": 64, "epochs": 8, "seed": 7},
  "data": {"train_rows": 1000, "test_rows": 200, "split_seed": 1},
  "evaluation": {"k": [10]}
}`

func trainModel(t *testing.T, path, prefix string) {
	t.Helper()
	var users, items, catalogue []string
	var stamps []int64
	for i := 0; i < 1200; i++ {
		u, row := i%40, i/40
		users = append(users, fmt.Sprintf("u%d", u))
		stamps = append(stamps, 1000000+37*int64(i))
		items = append(items, fmt.Sprintf("%s%d", prefix, (u%5)*6+(row*7+u)%6))
	}
	for i := 0; i < 30; i++ {
		catalogue = append(catalogue, fmt.Sprintf("%s%d", prefix, i))
	}
	inter, err := twotower.NewTableFromColumns(map[string]any{"user_id": users, "timestamp": stamps, "item_id": items})
	if err != nil {
		t.Fatal(err)
	}
	defer inter.Close()
	cand, err := twotower.NewTableFromColumns(map[string]any{"item_id": catalogue})
	if err != nil {
		t.Fatal(err)
	}
	defer cand.Close()
	m, err := twotower.NewModel(testSpec)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Train(context.Background(), inter, cand, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(path, nil); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer collects the server's log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type server struct {
	cmd *exec.Cmd
	url string
	log *syncBuffer
}

// startServer runs the server on 127.0.0.1 and a free port; the test's end stops it with
// SIGTERM and checks that it exits cleanly.
func startServer(t *testing.T, modelPath string, args ...string) *server {
	t.Helper()
	s := &server{log: &syncBuffer{}}
	s.cmd = exec.Command(serverBin, append([]string{"-model", modelPath, "-addr", "127.0.0.1:0"}, args...)...)
	s.cmd.Stderr = s.log
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if !strings.HasPrefix(line, "listening on http://127.0.0.1:") {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		t.Fatalf("server said %q (%v); log:\n%s", line, err, s.log)
	}
	s.url = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	go io.Copy(io.Discard, stdout)
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server exited with %v; log:\n%s", err, s.log)
			}
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			t.Errorf("server did not stop on SIGTERM; log:\n%s", s.log)
		}
	})
	return s
}

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

type response struct {
	recommendResponse
	Error string `json:"error"`
}

func get(s *server, path string) (int, *response, error) {
	resp, err := client.Get(s.url + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return resp.StatusCode, nil, fmt.Errorf("GET %s: Content-Type %q", path, ct)
	}
	var r response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("GET %s: %v", path, err)
	}
	return resp.StatusCode, &r, nil
}

func keys(r *response) []string {
	var ks []string
	for _, rec := range r.Recommendations {
		ks = append(ks, rec.Key)
	}
	return ks
}

// checkGroup checks that user u got only items of u's group, best first, from the model whose
// keys start with prefix.
func checkGroup(r *response, u int, prefix string) error {
	group := u % 5
	for i, rec := range r.Recommendations {
		var n int
		if _, err := fmt.Sscanf(rec.Key, prefix+"%d", &n); err != nil || n/6 != group {
			return fmt.Errorf("user u%d (generation %d) got %v, want items %s%d..%s%d",
				u, r.Model.Generation, keys(r), prefix, group*6, prefix, group*6+5)
		}
		if i > 0 && rec.Score > r.Recommendations[i-1].Score {
			return fmt.Errorf("user u%d: scores not best first: %v", u, r.Recommendations)
		}
	}
	return nil
}

func TestRecommend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.tt")
	trainModel(t, path, "i")
	s := startServer(t, path, "-timestamp", "1000555", "-max-k", "500")

	status, r, err := get(s, "/recommend?user=u3&k=6")
	if err != nil || status != 200 {
		t.Fatalf("status %d, %v", status, err)
	}
	if len(r.Recommendations) != 6 || r.User != "u3" || r.K != 6 || r.Model.Generation != 1 || r.Model.NumCandidates != 30 {
		t.Fatalf("response %+v", r)
	}
	if r.Timestamp == nil || *r.Timestamp != 1000555 {
		t.Fatalf("default timestamp: %v", r.Timestamp)
	}
	if err := checkGroup(r, 3, "i"); err != nil {
		t.Fatal(err)
	}
	// k beyond the catalogue: every candidate; a given timestamp is used.
	if _, r, err = get(s, "/recommend?user=u3&k=500&timestamp=1000000"); err != nil || len(r.Recommendations) != 30 || *r.Timestamp != 1000000 {
		t.Fatalf("k=500: %v, %v", r, err)
	}
	// Exclusions by key (unknown keys ignored): user u3's group is i18..i23.
	if _, r, err = get(s, "/recommend?user=u3&k=5&exclude=i18&exclude=no-such-item"); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys(r) {
		if k == "i18" || checkGroup(r, 3, "i") != nil {
			t.Fatalf("exclude=i18: %v", keys(r))
		}
	}
	if len(r.Recommendations) != 5 {
		t.Fatalf("exclude: %d results", len(r.Recommendations))
	}
	// An unknown user gets the out-of-vocabulary answer, not an error.
	if status, _, err := get(s, "/recommend?user=stranger"); status != 200 || err != nil {
		t.Fatalf("unknown user: %d %v", status, err)
	}
	if status, r, err := get(s, "/healthz"); status != 200 || err != nil || r.Model.Generation != 1 {
		t.Fatalf("healthz: %d %v %v", status, r, err)
	}
}

func TestBadRequestsGetJSONErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.tt")
	trainModel(t, path, "i")
	s := startServer(t, path)
	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"/recommend", 400, "missing parameter user"},
		{"/recommend?k=5", 400, "missing parameter user"},
		{"/recommend?user=u1&k=abc", 400, `parameter k must be an integer from 1 to 1000, got "abc"`},
		{"/recommend?user=u1&k=0", 400, "parameter k"},
		{"/recommend?user=u1&k=1001", 400, "parameter k"},
		{"/recommend?user=u1&timestamp=yesterday", 400, "parameter timestamp must be an integer"},
		{"/recommend?user=u1&limit=3", 400, `unknown parameter "limit"`},
		{"/recommend?user=u1&user=u2", 400, "once"},
		{"/recommend?user=a%00b", 400, "NUL"},
		{"/nope", 404, "no such endpoint /nope"},
	} {
		status, r, err := get(s, c.path)
		if err != nil || status != c.status || !strings.Contains(r.Error, c.want) {
			t.Errorf("GET %s: %d %+v %v; want %d and an error containing %q", c.path, status, r, err, c.status, c.want)
		}
	}
	resp, err := client.Post(s.url+"/recommend?user=u1", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}

// Reloads under load: a new model is served after SIGHUP with no request failing, and a
// failed reload keeps the current model.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.tt")
	trainModel(t, path, "i")
	next := filepath.Join(dir, "next.tt")
	trainModel(t, next, "j")
	// Each request holds its model 5 ms: a reload always meets requests in flight.
	s := startServer(t, path, "-timestamp", "1020000", "-request-delay", "5ms")

	var requests, failures, newModel atomic.Int64
	var failMu sync.Mutex
	var failed []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				u := (g*7 + i) % 40
				status, r, err := get(s, fmt.Sprintf("/recommend?user=u%d&k=6", u))
				if err == nil && status != 200 {
					err = fmt.Errorf("status %d: %s", status, r.Error)
				}
				if err == nil {
					// Each answer comes whole from one model: generation 1 has keys i*, 2 has j*.
					prefix := map[int64]string{1: "i", 2: "j"}[r.Model.Generation]
					if err = checkGroup(r, u, prefix); err == nil && r.Model.Generation == 2 {
						newModel.Add(1)
					}
				}
				requests.Add(1)
				if err != nil {
					failures.Add(1)
					failMu.Lock()
					failed = append(failed, err.Error())
					failMu.Unlock()
				}
			}
		}(g)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				failMu.Lock()
				defer failMu.Unlock()
				t.Fatalf("timed out waiting for %s (%d requests, %d failed: %v); log:\n%s",
					what, requests.Load(), failures.Load(), failed[:min(len(failed), 3)], s.log)
			}
		}
	}
	waitFor("300 requests", func() bool { return requests.Load() >= 300 })

	// Replace the file atomically (rename), then SIGHUP.
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the new model", func() bool { return newModel.Load() >= 300 })

	// A damaged file: the reload fails, is logged, and generation 2 stays.
	if err := os.WriteFile(path+".tmp", []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the failed reload", func() bool { return strings.Contains(s.log.String(), "reload failed") })
	after := newModel.Load()
	waitFor("requests after the failed reload", func() bool { return newModel.Load() >= after+300 })
	close(stop)
	wg.Wait()

	log := s.log.String()
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed, e.g. %v; log:\n%s", failures.Load(), requests.Load(), failed[:min(len(failed), 5)], log)
	}
	for _, want := range []string{
		"serving model generation 2",
		"replaced model generation 1; the library frees it after its last request",
		"reload failed, still serving generation 2: twotower: Load:",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "serving model generation 3") {
		t.Errorf("a damaged file was served:\n%s", log)
	}
	t.Logf("%d requests, %d from the reloaded model, none failed", requests.Load(), newModel.Load())
}

// A model whose query tower needs a column the server cannot fill is refused at start.
func TestRefusesModelsItCannotQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.tt")
	trainModel(t, path, "i")
	out, err := exec.Command(serverBin, "-model", path, "-addr", "127.0.0.1:0", "-user-column", "customer").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `the query tower reads user_id (string_lookup), but this server fills only the user column "customer"`) {
		t.Fatalf("%v: %s", err, out)
	}
	out, err = exec.Command(serverBin, "-model", filepath.Join(t.TempDir(), "missing.tt")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "missing.tt") {
		t.Fatalf("missing model: %v: %s", err, out)
	}
}
