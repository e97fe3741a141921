package twotower

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// ownCopy is a private copy of the shared trained model (conversions change it).
func ownCopy(t *testing.T) *Model {
	t.Helper()
	m, _ := trained(t)
	data, err := m.SaveToBytes(nil)
	if err != nil {
		t.Fatal(err)
	}
	own, err := LoadFromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { own.Close() })
	return own
}

func allUsers(t *testing.T) *Table {
	users := make([]int, synUsers)
	for i := range users {
		users[i] = i
	}
	return userQueries(t, users...)
}

func wantPrecision(t *testing.T, m *Model, index, weights Precision) {
	t.Helper()
	i, w, err := m.Precision()
	if err != nil || i != index || w != weights {
		t.Fatalf("precision (%v, %v) err %v, want (%v, %v)", i, w, err, index, weights)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func sameResults(t *testing.T, what string, a, b *Model, q *Table, k int) {
	t.Helper()
	ra, err := a.Query(q, &QueryOptions{K: k})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Query(q, &QueryOptions{K: k})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ra, rb) {
		t.Fatalf("%s: results differ:\n%v\n%v", what, ra, rb)
	}
}

func TestQuantizeInt8(t *testing.T) {
	m, _ := trained(t)
	wantPrecision(t, m, PrecisionFloat32, PrecisionFloat32)
	own := ownCopy(t)
	if err := own.Quantize(PrecisionInt8, PrecisionInt8); err != nil {
		t.Fatal(err)
	}
	wantPrecision(t, own, PrecisionInt8, PrecisionInt8)
	dir := t.TempDir()
	f32, int8 := filepath.Join(dir, "f32.tt"), filepath.Join(dir, "int8.tt")
	if err := m.Save(f32, nil); err != nil {
		t.Fatal(err)
	}
	if err := own.Save(int8, nil); err != nil {
		t.Fatal(err)
	}
	if a, b := fileSize(t, f32), fileSize(t, int8); b >= a*6/10 {
		t.Fatalf("int8 file %d bytes, float32 %d", b, a)
	}
	loaded, err := Load(int8)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	wantPrecision(t, loaded, PrecisionInt8, PrecisionInt8)
	q := allUsers(t)
	sameResults(t, "int8 file vs int8 model", loaded, own, q, 5)
	overlap, err := m.TopKOverlap(loaded, q, 5)
	if err != nil || overlap <= 0.5 || overlap > 1 {
		t.Fatalf("overlap with int8 copy %v (%v), want in (0.5, 1]", overlap, err)
	}
	self, err := m.TopKOverlap(m, q, 10)
	if err != nil || self != 1 {
		t.Fatalf("overlap with itself %v (%v), want 1", self, err)
	}
}

func TestQuantizeOnePartAndStrip(t *testing.T) {
	own := ownCopy(t)
	if err := own.Quantize(PrecisionKeep, PrecisionBF16); err != nil {
		t.Fatal(err)
	}
	wantPrecision(t, own, PrecisionFloat32, PrecisionBF16)
	if err := own.Quantize(PrecisionFP16, PrecisionKeep); err != nil {
		t.Fatal(err)
	}
	wantPrecision(t, own, PrecisionFP16, PrecisionBF16)

	m, _ := trained(t)
	strip := ownCopy(t)
	if err := strip.Strip(); err != nil {
		t.Fatal(err)
	}
	fingerprint := func(m *Model) string {
		text, err := m.MetadataJSON()
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			DataFingerprint string `json:"data_fingerprint"`
		}
		if err := json.Unmarshal([]byte(text), &meta); err != nil {
			t.Fatal(err)
		}
		return meta.DataFingerprint
	}
	if fingerprint(m) == "" || fingerprint(strip) != "" {
		t.Fatalf("data_fingerprint %q before Strip, %q after", fingerprint(m), fingerprint(strip))
	}
	sameResults(t, "stripped", m, strip, allUsers(t), 5)
}

func TestConvertFile(t *testing.T) {
	m, _ := trained(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.tt"), filepath.Join(dir, "out.tt")
	if err := m.Save(in, &SaveOptions{IncludeOptimizer: true}); err != nil {
		t.Fatal(err)
	}
	err := Convert(in, out, &ConvertOptions{IndexPrecision: PrecisionInt8, WeightsPrecision: PrecisionBF16, Strip: true, Uncompressed: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wantPrecision(t, c, PrecisionInt8, PrecisionBF16)
	if overlap, err := m.TopKOverlap(c, allUsers(t), 5); err != nil || overlap <= 0.5 {
		t.Fatalf("overlap %v (%v)", overlap, err)
	}
	// With the defaults it is an upgrade: the same answers.
	same := filepath.Join(dir, "same.tt")
	if err := Convert(in, same, nil); err != nil {
		t.Fatal(err)
	}
	s, err := Load(same)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantPrecision(t, s, PrecisionFloat32, PrecisionFloat32)
	sameResults(t, "upgraded", m, s, allUsers(t), 10)
}

func TestConvertErrors(t *testing.T) {
	m, _ := trained(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.tt"), filepath.Join(dir, "out.tt")
	if err := m.Save(in, nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, Convert(filepath.Join(dir, "missing.tt"), out, nil), StatusIO, "missing.tt")
	wantErr(t, Convert(in, in, nil), StatusInvalidArgument, "is the input file")
	wantErr(t, Convert(in, out, &ConvertOptions{WeightsPrecision: Precision(10)}), StatusInvalidArgument,
		"tt_convert_options.weights_precision is 9")
	wantErr(t, Convert(in, out, &ConvertOptions{CompressionLevel: 40}), StatusInvalidArgument, "compression_level")
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a failed Convert left %s (%v)", out, err)
	}
	own := ownCopy(t)
	wantErr(t, own.Quantize(Precision(8), PrecisionKeep), StatusInvalidArgument, "index_precision is 7; expected a tt_precision")
	wantPrecision(t, own, PrecisionFloat32, PrecisionFloat32)
	_, err := m.TopKOverlap(m, allUsers(t), 0)
	wantErr(t, err, StatusInvalidArgument, "k is 0")

	// Different catalogues are refused by the library.
	other := ownCopy(t)
	if err := other.RebuildIndex(mustTable(t, map[string]any{"item_id": []string{"i0", "i1"}, "title": []string{"a", "b"}})); err != nil {
		t.Fatal(err)
	}
	_, err = m.TopKOverlap(other, allUsers(t), 5)
	wantErr(t, err, StatusInvalidArgument, "candidate")

	closed := ownCopy(t)
	closed.Close()
	checks := map[string]error{}
	checks["Quantize"] = closed.Quantize(PrecisionInt8, PrecisionKeep)
	checks["Strip"] = closed.Strip()
	_, _, checks["Precision"] = closed.Precision()
	_, checks["TopKOverlap"] = m.TopKOverlap(closed, allUsers(t), 5)
	checks["Export"] = closed.Export(dir, nil)
	for op, err := range checks {
		if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), op+": the model is closed") {
			t.Errorf("%s after Close: %v", op, err)
		}
	}
	var nilModel *Model
	wantErr(t, nilModel.Strip(), StatusInvalidArgument, "nil *Model")
}

func TestExportImportRoundTrip(t *testing.T) {
	m, _ := trained(t)
	dir := filepath.Join(t.TempDir(), "export")
	if err := m.Export(dir, &ExportOptions{Queries: userQueries(t, 0, 1, 2)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"candidate_embeddings.npy", "candidate_embeddings.fvecs", "candidate_keys.txt",
		"query_embeddings.npy", "query_embeddings.fvecs", "weights.safetensors", "spec.json", "preprocessing.json"} {
		fileSize(t, filepath.Join(dir, name))
	}
	// .fvecs: per row an int32 dimension and 16 float32; 3 query rows.
	if n := fileSize(t, filepath.Join(dir, "query_embeddings.fvecs")); n != 3*(4+16*4) {
		t.Fatalf("query_embeddings.fvecs has %d bytes", n)
	}
	imported, err := Import(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer imported.Close()
	sameResults(t, "imported", m, imported, allUsers(t), 10)
	if overlap, err := m.TopKOverlap(imported, allUsers(t), 10); err != nil || overlap != 1 {
		t.Fatalf("overlap %v (%v)", overlap, err)
	}
}

func TestExportOptionsAndImportFromCandidates(t *testing.T) {
	m, _ := trained(t)
	inter, cand := synthetic(t)
	dir := t.TempDir()
	if err := m.Export(dir, &ExportOptions{NoNPY: true, NoCandidates: true}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"candidate_embeddings.npy", "candidate_embeddings.fvecs", "candidate_keys.txt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Fatalf("%s written (%v)", name, err)
		}
	}
	if _, err := Import(dir, nil); err == nil || !strings.Contains(err.Error(), "candidate") {
		t.Fatalf("import without an index: %v", err)
	}
	imported, err := Import("", &ImportOptions{
		SpecPath:          filepath.Join(dir, "spec.json"),
		PreprocessingPath: filepath.Join(dir, "preprocessing.json"),
		WeightsPath:       filepath.Join(dir, "weights.safetensors"),
		Candidates:        cand, Interactions: inter, Threads: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer imported.Close()
	if n, err := imported.NumCandidates(); err != nil || n != synItems {
		t.Fatalf("%d candidates (%v)", n, err)
	}
	if overlap, err := m.TopKOverlap(imported, allUsers(t), 5); err != nil || overlap < 0.99 {
		t.Fatalf("overlap %v (%v)", overlap, err)
	}
}

func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Import(filepath.Join(dir, "nowhere"), nil)
	wantErr(t, err, StatusIO, "nowhere")
	_, err = Import("", nil)
	wantErr(t, err, StatusInvalidArgument, "directory is NULL")
	_, err = Import(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "spec.json") {
		t.Fatalf("empty directory: %v", err)
	}
	_, err = Import(dir, &ImportOptions{WeightsPath: "a\x00b"})
	wantErr(t, err, StatusInvalidArgument, "NUL")
}
