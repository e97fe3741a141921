package twotower

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTableFromColumnsConvertsEveryType(t *testing.T) {
	tab := mustTable(t, map[string]any{
		"s": []string{"a", "", "ü"}, "i": []int{1, 2, 3}, "i32": []int32{4, 5, 6}, "i64": []int64{-1, 0, 1 << 40},
		"f": []float64{0.5, 1, 2}, "f32": []float32{1, 2, 3},
	})
	n, err := tab.NumRows()
	if err != nil || n != 3 {
		t.Fatalf("NumRows = %d, %v; want 3", n, err)
	}
	if err := tab.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestTableErrors(t *testing.T) {
	_, err := NewTableFromColumns(map[string]any{"a": []string{"x", "y"}, "b": []int64{1}})
	wantErr(t, err, StatusInvalidArgument, "")

	_, err = NewTableFromColumns(map[string]any{"a": []bool{true}})
	wantErr(t, err, StatusInvalidArgument, `column "a": unsupported type []bool`)

	_, err = NewTableFromColumns(map[string]any{"a": []string{"ok", "bad\x00byte"}})
	wantErr(t, err, StatusInvalidArgument, `column "a", value 1: contains a NUL byte`)

	tab, err := NewTable()
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if err := tab.AppendStrings("a", []string{"x"}); err != nil {
		t.Fatal(err)
	}
	// Another type on an existing column is refused by the library, naming the column.
	wantErr(t, tab.AppendInt64("a", []int64{1}), StatusInvalidArgument, "a")
	wantErr(t, tab.AppendStrings("bad\x00name", []string{"x"}), StatusInvalidArgument, "NUL byte")
}

func TestEmptyColumnsAndTables(t *testing.T) {
	tab, err := NewTable()
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if n, err := tab.NumRows(); err != nil || n != 0 {
		t.Fatalf("empty table: NumRows = %d, %v", n, err)
	}
	// Zero values (nil slices: NULL pointers for C) create empty columns, or are refused
	// with an error; either way nothing crashes and the table stays consistent.
	for _, appendEmpty := range []func() error{
		func() error { return tab.AppendStrings("s", nil) },
		func() error { return tab.AppendInt64("i", nil) },
		func() error { return tab.AppendFloat32("f", []float32{}) },
	} {
		if err := appendEmpty(); err != nil {
			wantErr(t, err, StatusInvalidArgument, "")
		}
	}
	if n, err := tab.NumRows(); err != nil || n != 0 {
		t.Fatalf("after empty appends: NumRows = %d, %v", n, err)
	}
	// A model cannot train on empty tables.
	m, err := NewModel(synSpec)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Train(nil, tab, tab, nil); err == nil {
		t.Fatal("training on an empty table succeeded")
	}
}

func TestTableUseAfterClose(t *testing.T) {
	tab := mustTable(t, map[string]any{"a": []string{"x"}})
	if err := tab.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tab.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	_, err := tab.NumRows()
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("NumRows after Close: %v, want ErrClosed", err)
	}
	wantErr(t, tab.AppendStrings("a", []string{"y"}), StatusInvalidArgument, "closed")
	var nilTable *Table
	_, err = nilTable.NumRows()
	wantErr(t, err, StatusInvalidArgument, "nil *Table")
	if err := nilTable.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestColumnarFiles(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "clicks.csv")
	writeFile(t, csv, "user,item,w,ignored\nu1,10,0.5,x\n\"u, 2\",20,1.5,y\nu1,10,2.5,z\n")
	ttc := filepath.Join(dir, "clicks.ttc")
	if err := ConvertData(csv, ttc, Column{"user", DTypeString}, Column{"item", DTypeInt64}); err != nil {
		t.Fatal(err)
	}
	tab, err := ReadTableFile(ttc, Column{"item", DTypeInt64})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if n, _ := tab.NumRows(); n != 3 {
		t.Fatalf("rows = %d, want 3", n)
	}
	again := filepath.Join(dir, "again.ttc")
	if err := tab.WriteColumnar(again); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTableFile(again, Column{"item", DTypeInt64})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if n, _ := back.NumRows(); n != 3 {
		t.Fatalf("rows read back = %d, want 3", n)
	}
	_, err = ReadTableFile(ttc, Column{"item", DTypeString})
	wantErr(t, err, StatusParse, "column 'item' is stored as int64, expected string")
	err = ConvertData(csv, filepath.Join(dir, "x.ttc"), Column{"nope", DTypeString})
	wantErr(t, err, StatusParse, "nope")
}

func TestReadTableFile(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "items.csv")
	writeFile(t, csv, "item_id,title,year,ignored\ni1,\"Heat, the film\",1995,x\ni2,Up,2009,y\n")
	tab, err := ReadTableFile(csv, Column{"item_id", DTypeString}, Column{"title", DTypeString}, Column{"year", DTypeInt64})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if n, _ := tab.NumRows(); n != 2 {
		t.Fatalf("rows = %d, want 2", n)
	}
	tsv := filepath.Join(dir, "items.tsv")
	writeFile(t, tsv, "item_id\tscore\ni1\t0.5\n")
	tab2, err := ReadTableFile(tsv, Column{"item_id", DTypeString}, Column{"score", DTypeFloat32})
	if err != nil {
		t.Fatal(err)
	}
	defer tab2.Close()

	_, err = ReadTableFile(filepath.Join(dir, "missing.csv"), Column{"a", DTypeString})
	wantErr(t, err, StatusIO, "missing.csv")

	writeFile(t, csv, "item_id,year\ni1,notanumber\n")
	_, err = ReadTableFile(csv, Column{"item_id", DTypeString}, Column{"year", DTypeInt64})
	wantErr(t, err, StatusParse, "items.csv")

	_, err = ReadTableFile(csv, Column{"nosuchcolumn", DTypeString})
	if err == nil || !strings.Contains(err.Error(), "nosuchcolumn") {
		t.Fatalf("unknown column: %v", err)
	}
	_, err = ReadTableFile(csv)
	if err == nil {
		t.Fatal("reading no columns succeeded")
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err is an *Error with the given status whose text contains substr.
func wantErr(t *testing.T, err error, status Status, substr string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want a *twotower.Error with %s", err, err, status)
	}
	if !errors.Is(err, status) || e.Status != status {
		t.Fatalf("got %v, want status %s", err, status)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not mention %q", err, substr)
	}
}
