package twotower

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// streamSpec is synSpec with the column types declared and every row not held out training,
// as streaming needs.
func streamSpec() string {
	s := strings.Replace(synSpec, `"name": "synthetic",`,
		`"name": "synthetic", "columns": {"user_id": "string", "timestamp": "int64", "item_id": "string", "title": "string"},`, 1)
	return strings.Replace(s, `"train_rows": 1000`, `"train_rows": 0`, 1)
}

func TestTrainStreamed(t *testing.T) {
	interactions, candidates := synthetic(t)
	dir := t.TempDir()
	ttc := filepath.Join(dir, "clicks.ttc")
	if err := interactions.WriteColumnar(ttc); err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(streamSpec())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()

	wantErr(t, func() error { _, err := m.TrainStreamed(ctx, ttc, candidates, nil, StreamOptions{}); return err }(),
		StatusInvalidArgument, "set shuffle_buffer_rows, memory_limit or both")
	// A buffer of 256 rows learns the groups.
	metrics, err := m.TrainStreamed(ctx, ttc, candidates, &TrainOptions{Epochs: 8, Threads: 2},
		StreamOptions{ShuffleBufferRows: 256})
	if err != nil {
		t.Fatal(err)
	}
	if top10, ok := metrics.At(10); !ok || top10 <= 0.3 || metrics.Examples != 200 {
		t.Errorf("streamed training: %v", metrics)
	}
	wantErr(t, func() error {
		_, err := m.TrainStreamed(ctx, ttc, candidates, nil, StreamOptions{ShuffleBufferRows: 256})
		return err
	}(), StatusInvalidArgument, "trains a new model")
	// A memory limit alone sizes the buffer; one too small is refused with the figures.
	batches := 0
	reset := &TrainOptions{Epochs: 1, Threads: 2, Reset: true, Progress: func(Progress) { batches++ }}
	if _, err := m.TrainStreamed(ctx, ttc, candidates, reset, StreamOptions{MemoryLimit: 4 << 30}); err != nil {
		t.Fatal(err)
	}
	if batches == 0 {
		t.Error("no progress reported")
	}
	wantErr(t, func() error {
		_, err := m.TrainStreamed(ctx, ttc, candidates, reset, StreamOptions{MemoryLimit: 1 << 20})
		return err
	}(), StatusInvalidArgument, "the memory limit of 1.0 MiB cannot hold")
	csv := filepath.Join(dir, "clicks.csv")
	if err := os.WriteFile(csv, []byte("user_id,item_id\nu1,i1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantErr(t, func() error {
		_, err := m.TrainStreamed(ctx, csv, candidates, reset, StreamOptions{MemoryLimit: 4 << 30})
		return err
	}(), StatusInvalidArgument, "is not a columnar data file")
	wantErr(t, func() error {
		_, err := m.TrainStreamed(ctx, "a\x00b", candidates, reset, StreamOptions{MemoryLimit: 4 << 30})
		return err
	}(), StatusInvalidArgument, "contains a NUL byte")
}
