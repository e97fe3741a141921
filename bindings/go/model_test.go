package twotower

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestVersions(t *testing.T) {
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(LibraryVersion()) {
		t.Fatalf("LibraryVersion = %q", LibraryVersion())
	}
	var major, minor, patch int
	if _, err := fmt.Sscanf(LibraryVersion(), "%d.%d.%d", &major, &minor, &patch); err != nil {
		t.Fatal(err)
	}
	if LibraryVersionNumber() != major*10000+minor*100+patch {
		t.Fatalf("LibraryVersionNumber = %d for %s", LibraryVersionNumber(), LibraryVersion())
	}
	if LibraryABIVersion() != ABIVersion {
		t.Fatalf("library ABI %d, package ABI %d", LibraryABIVersion(), ABIVersion)
	}
	if ModelFormatMinVersion() < 1 || ModelFormatVersion() < ModelFormatMinVersion() {
		t.Fatalf("format versions %d..%d", ModelFormatMinVersion(), ModelFormatVersion())
	}
	if err := checkABI(); err != nil {
		t.Fatal(err)
	}
	// Another ABI is refused with a message saying which.
	err := abiMismatch(ABIVersion+1, ABIVersion+1, ABIVersion)
	wantErr(t, err, StatusUnsupported, "written for twotower C ABI 1, but the library implements ABI 2")
	if abiMismatch(1, 2, 1) == nil {
		t.Fatal("a header of another ABI was accepted")
	}
}

func TestTrainSyntheticLearnsTheGroups(t *testing.T) {
	m, metrics := trained(t)
	if !reflect.DeepEqual(metrics.K, []int{1, 5, 10}) || metrics.Examples != 200 {
		t.Fatalf("metrics %+v", metrics)
	}
	// Each group has 6 items: top-10 must catch nearly all held-out pairs.
	if top10, ok := metrics.At(10); !ok || top10 <= 0.9 {
		t.Fatalf("top-10 accuracy %v (%v)", top10, metrics)
	}
	if _, ok := metrics.At(100); ok {
		t.Fatal("At(100) found a k that was not evaluated")
	}
	if n, _ := m.NumCandidates(); n != synItems {
		t.Fatalf("NumCandidates = %d", n)
	}
	if d, _ := m.EmbeddingDim(); d != 16 {
		t.Fatalf("EmbeddingDim = %d", d)
	}
	var md struct {
		Candidates int   `json:"candidates"`
		Epochs     int   `json:"epochs"`
		Seed       int64 `json:"seed"`
	}
	mdJSON, err := m.MetadataJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(mdJSON), &md); err != nil || md.Candidates != 30 || md.Epochs != 8 || md.Seed != 3 {
		t.Fatalf("metadata %s (%v)", mdJSON, err)
	}
	spec, err := m.SpecJSON()
	if err != nil || !strings.Contains(spec, `"synthetic"`) {
		t.Fatalf("spec %s (%v)", spec, err)
	}
	// Users of group g get group g's items first.
	res, err := m.Query(userQueries(t, 0, 1, 2, 3, 4), &QueryOptions{K: 6})
	if err != nil {
		t.Fatal(err)
	}
	for g, r := range res {
		keys, err := m.CandidateKeys(r.IDs)
		if err != nil {
			t.Fatal(err)
		}
		want := groupItems(g)
		for _, k := range keys {
			if !want[k] {
				t.Fatalf("user u%d got %v, want the items of group %d", g, keys, g)
			}
		}
	}
}

func TestProgressReportsBatchesAndEpochs(t *testing.T) {
	inter, cand := synthetic(t)
	m, err := NewModel(synSpec)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var seen []Progress
	metrics, err := m.Train(context.Background(), inter, cand, &TrainOptions{Epochs: 4, EvalEvery: 2, Threads: 1,
		Progress: func(p Progress) { seen = append(seen, p) }})
	if err != nil {
		t.Fatal(err)
	}
	var batches, epochs []Progress
	for _, p := range seen {
		if p.Epochs != 4 || p.Batches != 16 { // 1000 training rows / 64
			t.Fatalf("report %+v", p)
		}
		if p.EpochDone {
			epochs = append(epochs, p)
		} else {
			batches = append(batches, p)
		}
	}
	if len(batches) != 4*16 || len(epochs) != 4 {
		t.Fatalf("%d batch and %d epoch reports", len(batches), len(epochs))
	}
	for i, p := range epochs {
		if p.Epoch != i+1 || p.Loss <= 0 || (p.Metrics != nil) != (i%2 == 1) {
			t.Fatalf("epoch report %d: %+v", i, p)
		}
	}
	if !reflect.DeepEqual(*epochs[3].Metrics, metrics) {
		t.Fatalf("last epoch's metrics %v, Train returned %v", epochs[3].Metrics, metrics)
	}
	// EvalAtEnd: only the last epoch is evaluated.
	m2, _ := NewModel(synSpec)
	defer m2.Close()
	evaluated := 0
	if _, err := m2.Train(nil, inter, cand, &TrainOptions{Epochs: 3, EvalEvery: EvalAtEnd, Progress: func(p Progress) {
		if p.Metrics != nil {
			evaluated++
		}
	}}); err != nil || evaluated != 1 {
		t.Fatalf("EvalAtEnd: %d evaluations, %v", evaluated, err)
	}
}

func TestTrainingIsDeterministic(t *testing.T) {
	inter, cand := synthetic(t)
	var embeddings [2][][]float32
	for i := range embeddings {
		m, err := NewModel(synSpec)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if _, err := m.Train(nil, inter, cand, &TrainOptions{Epochs: 2, Seed: 11, SeedSet: true, Threads: 1}); err != nil {
			t.Fatal(err)
		}
		if embeddings[i], err = m.EmbedQueries(userQueries(t, 0, 1, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(embeddings[0], embeddings[1]) {
		t.Fatal("two trainings with one seed differ")
	}
}

func TestCancelThroughContext(t *testing.T) {
	inter, cand := synthetic(t)
	m, err := NewModel(synSpec)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	_, err = m.Train(ctx, inter, cand, &TrainOptions{Progress: func(Progress) {
		calls++
		if calls == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, StatusCancelled) {
		t.Fatalf("cancelled training returned %v", err)
	}
	if calls != 3 {
		t.Fatalf("progress called %d times after cancelling at the 3rd", calls)
	}
	// The model keeps what it had: still untrained.
	if n, _ := m.NumCandidates(); n != 0 {
		t.Fatalf("cancelled model has %d candidates", n)
	}
	_, err = m.Query(userQueries(t, 0), nil)
	wantErr(t, err, StatusInvalidArgument, "trained")

	// A context already done: nothing runs.
	_, err = m.Train(ctx, inter, cand, &TrainOptions{Progress: func(Progress) { t.Fatal("training ran") }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("done context: %v", err)
	}
	// The model can still be trained afterwards.
	if _, err := m.Train(context.Background(), inter, cand, &TrainOptions{Epochs: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestCancelledRetrainingKeepsTheTrainedModel(t *testing.T) {
	inter, cand := synthetic(t)
	m, _ := NewModel(synSpec)
	defer m.Close()
	if _, err := m.Train(nil, inter, cand, &TrainOptions{Epochs: 2}); err != nil {
		t.Fatal(err)
	}
	before, _ := m.SaveToBytes(nil)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := m.Train(ctx, inter, cand, &TrainOptions{Epochs: 3, Progress: func(p Progress) {
		if p.Epoch == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	after, _ := m.SaveToBytes(nil)
	if !bytes.Equal(before, after) {
		t.Fatal("a cancelled training changed the model")
	}
}

func TestPanicInProgressStopsTrainingAndPropagates(t *testing.T) {
	inter, cand := synthetic(t)
	m, _ := NewModel(synSpec)
	defer m.Close()
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want boom", r)
		}
		if n, _ := m.NumCandidates(); n != 0 { // and the model can be used (lock released)
			t.Fatalf("%d candidates", n)
		}
	}()
	m.Train(nil, inter, cand, &TrainOptions{Progress: func(Progress) { panic("boom") }})
	t.Fatal("Train returned after its progress callback panicked")
}

func TestSaveAndLoadFileAndBytes(t *testing.T) {
	m, _ := trained(t)
	q := userQueries(t, 0, 7, 13)
	want, err := m.Query(q, &QueryOptions{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "synthetic.tt")
	if err := m.Save(path, &SaveOptions{CompressionLevel: 9}); err != nil {
		t.Fatal(err)
	}
	fromFile, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fromFile.Close()
	data, err := m.SaveToBytes(nil)
	if err != nil {
		t.Fatal(err)
	}
	fromBytes, err := LoadFromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	defer fromBytes.Close()
	raw, err := m.SaveToBytes(&SaveOptions{Uncompressed: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) <= len(data) {
		t.Fatalf("uncompressed save has %d bytes, the default one %d", len(raw), len(data))
	}
	fromRaw, err := LoadFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer fromRaw.Close()
	for _, loaded := range []*Model{fromFile, fromBytes, fromRaw} {
		got, err := loaded.Query(q, &QueryOptions{K: 5})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) { // bit-identical ids and scores
			t.Fatalf("loaded model answers %v, trained one %v", got, want)
		}
		s1, _ := m.SpecJSON()
		s2, _ := loaded.SpecJSON()
		if s1 != s2 {
			t.Fatal("spec differs after loading")
		}
	}
	withOptimizer, err := m.SaveToBytes(&SaveOptions{IncludeOptimizer: true})
	if err != nil || len(withOptimizer) <= len(data) {
		t.Fatalf("checkpoint is %d bytes, model %d (%v)", len(withOptimizer), len(data), err)
	}
	wantErr(t, m.Save(filepath.Join(t.TempDir(), "no", "such", "dir", "m.tt"), nil), StatusIO, "m.tt")
	wantErr(t, m.Save("x.tt", &SaveOptions{CompressionLevel: 99}), StatusInvalidArgument, "")
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.tt"))
	wantErr(t, err, StatusIO, "missing.tt")

	m, _ := trained(t)
	data, err := m.SaveToBytes(nil)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), data...)
	corrupt[len(corrupt)/2] ^= 0x40
	_, err = LoadFromBytes(corrupt)
	wantErr(t, err, StatusCorrupt, "")
	_, err = LoadFromBytes(data[:len(data)-10])
	wantErr(t, err, StatusCorrupt, "")
	_, err = LoadFromBytes([]byte("definitely not a model file"))
	if err == nil {
		t.Fatal("garbage loaded")
	}
	_, err = LoadFromBytes(nil)
	if err == nil {
		t.Fatal("no bytes loaded")
	}
	path := filepath.Join(t.TempDir(), "corrupt.tt")
	if err := os.WriteFile(path, corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	wantErr(t, err, StatusCorrupt, "")
}

func TestSpecErrors(t *testing.T) {
	_, err := NewModel(`{"name": "x", `)
	wantErr(t, err, StatusParse, "")
	_, err = NewModel(`{"query_tower": {}}`)
	if err == nil {
		t.Fatal("an incomplete spec was accepted")
	}
	_, err = NewModel(strings.Replace(synSpec, `"layers": [16]`, `"layers": [16], "bogus_field": 1`, 1))
	if err == nil || !strings.Contains(err.Error(), "bogus_field") {
		t.Fatalf("unknown field: %v", err)
	}
	_, err = NewModel("")
	if err == nil {
		t.Fatal("an empty spec was accepted")
	}
	_, err = NewModelFromFile(filepath.Join(t.TempDir(), "nope.json"))
	wantErr(t, err, StatusIO, "nope.json")
	m, err := NewModelFromFile(repoFile("samples/movielens/deep-32.json"))
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
}

func TestQueryFilters(t *testing.T) {
	m, _ := trained(t)
	q := userQueries(t, 0, 1)
	all, err := m.Query(q, &QueryOptions{K: 1000}) // k larger than the catalogue
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if len(r.IDs) != synItems || len(r.Scores) != synItems {
			t.Fatalf("k > catalogue: %d results, want all %d", len(r.IDs), synItems)
		}
		for i := 1; i < len(r.Scores); i++ {
			if r.Scores[i] > r.Scores[i-1] {
				t.Fatal("results are not best first")
			}
		}
	}
	def, err := m.Query(q, nil)
	if err != nil || len(def[0].IDs) != 10 {
		t.Fatalf("default k: %v, %v", def, err)
	}
	// Exclusions: row 0 loses its best two, row 1 nothing.
	best := all[0].IDs
	ex, err := m.Query(q, &QueryOptions{K: 3, Exclude: [][]int64{{best[0], best[1], 999, -5}, nil}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ex[0].IDs, best[2:5]) || !reflect.DeepEqual(ex[1].IDs, all[1].IDs[:3]) {
		t.Fatalf("exclusions: %v", ex)
	}
	// Allow-list: only these, in score order.
	allow := []int64{best[29], best[3], best[10]}
	al, err := m.Query(q, &QueryOptions{K: 10, Allow: allow})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(al[0].IDs, []int64{best[3], best[10], best[29]}) {
		t.Fatalf("allow-list: %v", al[0].IDs)
	}
	// Allow-list and exclusion together; an empty allow-list allows nothing.
	both, _ := m.Query(q, &QueryOptions{K: 10, Allow: allow, Exclude: [][]int64{{best[3]}, {}}})
	if !reflect.DeepEqual(both[0].IDs, []int64{best[10], best[29]}) {
		t.Fatalf("allow + exclude: %v", both[0].IDs)
	}
	none, err := m.Query(q, &QueryOptions{Allow: []int64{}})
	if err != nil || len(none[0].IDs) != 0 || len(none[1].IDs) != 0 {
		t.Fatalf("empty allow-list: %v, %v", none, err)
	}
	// No rows, no results (the columns are still checked).
	empty := mustTable(t, map[string]any{"user_id": []string{}, "timestamp": []int64{}})
	if res, err := m.Query(empty, nil); err != nil || len(res) != 0 {
		t.Fatalf("no rows: %v, %v", res, err)
	}
	if emb, err := m.EmbedQueries(empty); err != nil || len(emb) != 0 {
		t.Fatalf("no rows: %v, %v", emb, err)
	}
	_, err = m.Query(mustTable(t, map[string]any{"user_id": []string{}}), nil)
	wantErr(t, err, StatusInvalidArgument, "timestamp")
	// Bad options.
	_, err = m.Query(q, &QueryOptions{K: -1})
	wantErr(t, err, StatusInvalidArgument, "K is -1")
	_, err = m.Query(q, &QueryOptions{Exclude: [][]int64{{1}}})
	wantErr(t, err, StatusInvalidArgument, "Exclude has 1 lists for 2 query rows")
	_, err = m.Query(mustTable(t, map[string]any{"user_id": []string{"u1"}}), nil)
	wantErr(t, err, StatusInvalidArgument, "timestamp")
	_, err = m.Query(nil, nil)
	wantErr(t, err, StatusInvalidArgument, "nil *Table")
}

func TestCandidateKeysAndIDs(t *testing.T) {
	m, _ := trained(t)
	for id := int64(0); id < synItems; id++ {
		key, err := m.CandidateKey(id)
		if err != nil {
			t.Fatal(err)
		}
		back, found, err := m.CandidateID(key)
		if err != nil || !found || back != id {
			t.Fatalf("key %q of id %d maps back to %d, %v, %v", key, id, back, found, err)
		}
	}
	if _, found, err := m.CandidateID("no such item"); found || err != nil {
		t.Fatalf("unknown key: found=%v err=%v", found, err)
	}
	_, err := m.CandidateKey(synItems)
	wantErr(t, err, StatusInvalidArgument, "")
	_, err = m.CandidateKey(-1)
	wantErr(t, err, StatusInvalidArgument, "")
}

func TestEmbeddingsGiveTheQueryScores(t *testing.T) {
	m, _ := trained(t)
	_, cand := synthetic(t)
	q := userQueries(t, 3)
	qe, err := m.EmbedQueries(q)
	if err != nil {
		t.Fatal(err)
	}
	ce, err := m.EmbedCandidates(cand)
	if err != nil {
		t.Fatal(err)
	}
	if len(qe) != 1 || len(qe[0]) != 16 || len(ce) != synItems || len(ce[0]) != 16 {
		t.Fatalf("shapes %dx%d, %dx%d", len(qe), len(qe[0]), len(ce), len(ce[0]))
	}
	res, err := m.Query(q, &QueryOptions{K: synItems})
	if err != nil {
		t.Fatal(err)
	}
	// The score of a query and a candidate is the dot product of their embeddings; the
	// catalogue's row i is candidate id i.
	for i, id := range res[0].IDs {
		var dot float64
		for j := range qe[0] {
			dot += float64(qe[0][j]) * float64(ce[id][j])
		}
		if math.Abs(dot-float64(res[0].Scores[i])) > 1e-4*math.Max(1, math.Abs(dot)) {
			t.Fatalf("candidate %d: dot %v, score %v", id, dot, res[0].Scores[i])
		}
	}
}

func TestEvaluateAndRebuildIndex(t *testing.T) {
	inter, cand := synthetic(t)
	m, err := NewModel(synSpec)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = m.Evaluate(inter, cand, false)
	wantErr(t, err, StatusInvalidArgument, "")
	if _, err := m.Train(nil, inter, cand, &TrainOptions{Epochs: 8}); err != nil {
		t.Fatal(err)
	}
	metrics, err := m.Evaluate(inter, cand, true)
	if err != nil {
		t.Fatal(err)
	}
	if metrics.Examples != synRows {
		t.Fatalf("evaluated %d examples, want %d", metrics.Examples, synRows)
	}
	if top10, _ := metrics.At(10); top10 < 0.9 {
		t.Fatalf("top-10 on every row %v", top10)
	}
	// A new catalogue: two items only, served without retraining.
	small := mustTable(t, map[string]any{"item_id": []string{"i0", "new item"}, "title": []string{"item 0", "brand new"}})
	if err := m.RebuildIndex(small); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.NumCandidates(); n != 2 {
		t.Fatalf("%d candidates after rebuild", n)
	}
	if id, found, _ := m.CandidateID("new item"); !found || id != 1 {
		t.Fatalf("new item id %d found=%v", id, found)
	}
	wantErr(t, m.RebuildIndex(mustTable(t, map[string]any{"item_id": []string{"x"}})), StatusInvalidArgument, "title")
}

func TestModelUseAfterClose(t *testing.T) {
	inter, cand := synthetic(t)
	m, err := NewModel(synSpec)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, checks["Train"] = m.Train(nil, inter, cand, nil)
	_, checks["Query"] = m.Query(userQueries(t, 0), nil)
	checks["Save"] = m.Save(filepath.Join(t.TempDir(), "m.tt"), nil)
	_, checks["SaveToBytes"] = m.SaveToBytes(nil)
	_, checks["SpecJSON"] = m.SpecJSON()
	_, checks["NumCandidates"] = m.NumCandidates()
	_, checks["CandidateKey"] = m.CandidateKey(0)
	_, _, checks["CandidateID"] = m.CandidateID("i0")
	_, checks["EmbedQueries"] = m.EmbedQueries(userQueries(t, 0))
	_, checks["Evaluate"] = m.Evaluate(inter, cand, false)
	checks["RebuildIndex"] = m.RebuildIndex(cand)
	for op, err := range checks {
		if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), op+": the model is closed") {
			t.Errorf("%s after Close: %v", op, err)
		}
	}
	// A closed table given to a live model.
	live, _ := trained(t)
	q := userQueries(t, 0)
	q.Close()
	_, err = live.Query(q, nil)
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "queries table is closed") {
		t.Fatalf("closed queries table: %v", err)
	}
	var nilModel *Model
	_, err = nilModel.Query(userQueries(t, 0), nil)
	wantErr(t, err, StatusInvalidArgument, "nil *Model")
	_, err = live.Train(nil, nil, cand, nil)
	if err == nil {
		t.Fatal("Train with a nil table succeeded")
	}
}

func TestSearchPrecisionGivesTheFloat32TopK(t *testing.T) {
	m, _ := trained(t)
	data, err := m.SaveToBytes(nil)
	if err != nil {
		t.Fatal(err)
	}
	own, err := LoadFromBytes(data) // a copy: the shared model stays as it is
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	q := userQueries(t, 0, 7, 13)
	want, err := own.Query(q, &QueryOptions{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := own.CurrentSearchPrecision(); err != nil || p != SearchFloat32 {
		t.Fatalf("default search precision %v (%v), want float32", p, err)
	}
	for _, p := range []SearchPrecision{SearchBF16, SearchInt8, SearchFloat32} {
		if err := own.SetSearchPrecision(p); err != nil {
			t.Fatal(err)
		}
		if got, err := own.CurrentSearchPrecision(); err != nil || got != p {
			t.Fatalf("search precision %v (%v), want %v", got, err, p)
		}
		got, err := own.Query(q, &QueryOptions{K: 5})
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !reflect.DeepEqual(got[i].IDs, want[i].IDs) {
				t.Fatalf("precision %v: ids %v, float32 gives %v", p, got[i].IDs, want[i].IDs)
			}
		}
	}
	wantErr(t, own.SetSearchPrecision(SearchPrecision(2)), StatusInvalidArgument, "fp16")
	wantErr(t, own.SetSearchPrecision(SearchPrecision(9)), StatusInvalidArgument, "precision")
	if err := own.SetSearchPrecision(SearchAuto); err != nil {
		t.Fatal(err)
	}
}
