package twotower

/*
#include <stdlib.h>
#include <twotower/twotower.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// DType is the type of a table column.
type DType int

// Column types.
const (
	DTypeString  DType = C.TT_DTYPE_STRING
	DTypeInt64   DType = C.TT_DTYPE_INT64
	DTypeFloat32 DType = C.TT_DTYPE_FLOAT32
)

func (d DType) String() string {
	switch d {
	case DTypeString:
		return "string"
	case DTypeInt64:
		return "int64"
	case DTypeFloat32:
		return "float32"
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// finalized counts the handles released by a finalizer rather than by Close.
var finalized atomic.Int64

// Column names a column to read from a file and its type.
type Column struct {
	Name string
	Type DType
}

// Table holds named columns of strings, int64 or float32 values, all of one length: the
// interactions, the candidate catalogue or the queries of a model.
//
// A Table is safe for concurrent use: appends are serialised with every other use. Close
// releases its memory; a finalizer does so too if Close was never called.
type Table struct {
	mu  sync.RWMutex
	ptr *C.tt_table // nil once closed
}

func newTable(ptr *C.tt_table) *Table {
	t := &Table{ptr: ptr}
	runtime.SetFinalizer(t, func(t *Table) {
		finalized.Add(1)
		t.Close()
	})
	return t
}

// NewTable returns an empty table.
func NewTable() (*Table, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	var ptr *C.tt_table
	if err := call("NewTable", func() C.tt_status { return C.tt_table_create(&ptr) }); err != nil {
		return nil, err
	}
	return newTable(ptr), nil
}

// NewTableFromColumns builds a table from columns given as Go slices: []string for string
// columns; []int64, []int or []int32 for int64 columns; []float32 or []float64 for float32
// columns. Columns are appended in name order, so errors are deterministic.
func NewTableFromColumns(columns map[string]any) (*Table, error) {
	t, err := NewTable()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(columns))
	for name := range columns {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := t.appendAny("NewTableFromColumns", name, columns[name]); err != nil {
			t.Close()
			return nil, err
		}
	}
	if err := t.Validate(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Table) appendAny(op, name string, values any) error {
	switch v := values.(type) {
	case []string:
		return t.appendStrings(op, name, v)
	case []int64:
		return t.appendInt64(op, name, v)
	case []int:
		return t.appendInt64(op, name, convert[int, int64](v))
	case []int32:
		return t.appendInt64(op, name, convert[int32, int64](v))
	case []float32:
		return t.appendFloat32(op, name, v)
	case []float64:
		return t.appendFloat32(op, name, convert[float64, float32](v))
	}
	return argError(op, "column %q: unsupported type %T (want []string, []int64, []int, []int32, []float32 or []float64)", name, values)
}

func convert[From, To int | int32 | int64 | float32 | float64](values []From) []To {
	out := make([]To, len(values))
	for i, v := range values {
		out[i] = To(v)
	}
	return out
}

// ReadTableFile reads the given columns of a CSV (RFC 4180) or TSV (.tsv/.tab) file with a
// header row, or of a columnar data file (recognised by its first bytes; see WriteColumnar);
// other columns of the file are ignored. Errors name the file, line and column.
func ReadTableFile(path string, columns ...Column) (*Table, error) {
	const op = "ReadTableFile"
	if err := checkABI(); err != nil {
		return nil, err
	}
	cpath, err := cString(op, "path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	n := len(columns)
	// The names and types go to C in C memory (an array of Go pointers may not be passed).
	names := cArray[*C.char](n)
	types := cArray[C.tt_dtype](n)
	defer freeArray(names)
	defer freeArray(types)
	for i, c := range columns {
		if names[i], err = cString(op, "column name", c.Name); err != nil {
			return nil, err
		}
		defer C.free(unsafe.Pointer(names[i]))
		types[i] = C.tt_dtype(c.Type)
	}
	var ptr *C.tt_table
	err = call(op, func() C.tt_status {
		return C.tt_table_read_file(cpath, firstOrNil(names), firstOrNil(types), C.size_t(n), &ptr)
	})
	if err != nil {
		return nil, err
	}
	return newTable(ptr), nil
}

// WriteColumnar writes the table as a columnar data file (typed columns, strings
// dictionary-encoded, checksummed; docs/data-format.md), atomically. ReadTableFile reads it
// back, and training reads it without parsing.
func (t *Table) WriteColumnar(path string) error {
	const op = "WriteColumnar"
	ptr, err := t.read(op, "table")
	if err != nil {
		return err
	}
	defer t.mu.RUnlock()
	cpath, err := cString(op, "path", path)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cpath))
	return call(op, func() C.tt_status { return C.tt_table_write_columnar(ptr, cpath) })
}

// ConvertData converts a data file (CSV, TSV or columnar) to a columnar data file holding the
// given columns with their types, in that order (what `twotower data convert` does).
func ConvertData(input, output string, columns ...Column) error {
	const op = "ConvertData"
	if err := checkABI(); err != nil {
		return err
	}
	cin, err := cString(op, "input", input)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cin))
	cout, err := cString(op, "output", output)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cout))
	n := len(columns)
	names := cArray[*C.char](n)
	types := cArray[C.tt_dtype](n)
	defer freeArray(names)
	defer freeArray(types)
	for i, c := range columns {
		if names[i], err = cString(op, "column name", c.Name); err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(names[i]))
		types[i] = C.tt_dtype(c.Type)
	}
	return call(op, func() C.tt_status {
		return C.tt_data_convert(cin, cout, firstOrNil(names), firstOrNil(types), C.size_t(n))
	})
}

// LoadMovieLens loads MovieLens 100k from its original directory (u.data, u.item; SHA256SUMS
// verified if present): ratings {user_id string, movie_title string, timestamp int64, rating
// float32} and the catalogue {movie_id string, movie_title string}. An empty dir means
// $TWOTOWER_DATA.
func LoadMovieLens(dir string) (ratings, catalogue *Table, err error) {
	const op = "LoadMovieLens"
	if err := checkABI(); err != nil {
		return nil, nil, err
	}
	cdir, err := cString(op, "dir", dir)
	if err != nil {
		return nil, nil, err
	}
	defer C.free(unsafe.Pointer(cdir))
	var r, c *C.tt_table
	if err := call(op, func() C.tt_status { return C.tt_load_movielens(cdir, &r, &c) }); err != nil {
		return nil, nil, err
	}
	return newTable(r), newTable(c), nil
}

// Close releases the table. It is idempotent; any other call after Close fails with an error
// wrapping ErrClosed.
func (t *Table) Close() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ptr != nil {
		C.tt_table_free(t.ptr)
		t.ptr = nil
		runtime.SetFinalizer(t, nil)
	}
	return nil
}

// read locks the table for reading and returns its handle; the caller must call t.mu.RUnlock
// when err is nil.
func (t *Table) read(op, what string) (*C.tt_table, error) {
	if t == nil {
		return nil, argError(op, "%s is a nil *Table", what)
	}
	t.mu.RLock()
	if t.ptr == nil {
		t.mu.RUnlock()
		return nil, closedError(op, what)
	}
	return t.ptr, nil
}

// write is read's exclusive counterpart; the caller must call t.mu.Unlock.
func (t *Table) write(op string) (*C.tt_table, error) {
	if t == nil {
		return nil, argError(op, "nil *Table")
	}
	t.mu.Lock()
	if t.ptr == nil {
		t.mu.Unlock()
		return nil, closedError(op, "table")
	}
	return t.ptr, nil
}

// AppendStrings appends values to a string column, creating it on first use. Strings may not
// contain NUL bytes.
func (t *Table) AppendStrings(column string, values []string) error {
	return t.appendStrings("AppendStrings", column, values)
}

func (t *Table) appendStrings(op, column string, values []string) error {
	// One C block for all the bytes (NUL-terminated) and one for the pointers to them.
	size := 0
	for i, v := range values {
		if strings.IndexByte(v, 0) >= 0 {
			return argError(op, "column %q, value %d: contains a NUL byte", column, i)
		}
		size += len(v) + 1
	}
	data := cArray[byte](size)
	defer freeArray(data)
	ptrs := cArray[*C.char](len(values))
	defer freeArray(ptrs)
	off := 0
	for i, v := range values {
		copy(data[off:], v)
		data[off+len(v)] = 0
		ptrs[i] = (*C.char)(unsafe.Pointer(&data[off]))
		off += len(v) + 1
	}
	return t.appendColumn(op, column, func(p *C.tt_table, c *C.char) C.tt_status {
		return C.tt_table_append_strings(p, c, firstOrNil(ptrs), C.size_t(len(values)))
	})
}

// AppendInt64 appends values to an int64 column, creating it on first use.
func (t *Table) AppendInt64(column string, values []int64) error {
	return t.appendInt64("AppendInt64", column, values)
}

func (t *Table) appendInt64(op, column string, values []int64) error {
	return t.appendColumn(op, column, func(p *C.tt_table, c *C.char) C.tt_status {
		return C.tt_table_append_int64(p, c, (*C.int64_t)(unsafe.Pointer(firstOrNil(values))), C.size_t(len(values)))
	})
}

// AppendFloat32 appends values to a float32 column, creating it on first use.
func (t *Table) AppendFloat32(column string, values []float32) error {
	return t.appendFloat32("AppendFloat32", column, values)
}

func (t *Table) appendFloat32(op, column string, values []float32) error {
	return t.appendColumn(op, column, func(p *C.tt_table, c *C.char) C.tt_status {
		return C.tt_table_append_float32(p, c, (*C.float)(unsafe.Pointer(firstOrNil(values))), C.size_t(len(values)))
	})
}

// appendColumn runs one tt_table_append_* call with the table locked and the column name in C.
func (t *Table) appendColumn(op, column string, appendC func(*C.tt_table, *C.char) C.tt_status) error {
	ptr, err := t.write(op)
	if err != nil {
		return err
	}
	defer t.mu.Unlock()
	ccol, err := cString(op, "column name", column)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(ccol))
	return call(op, func() C.tt_status { return appendC(ptr, ccol) })
}

// readPair read-locks the interactions and candidates tables of Train and Evaluate (once if
// they are the same table: a second read lock could deadlock behind a waiting writer).
// Call unlock when err is nil.
func readPair(op string, interactions, candidates *Table) (iptr, cptr *C.tt_table, unlock func(), err error) {
	if iptr, err = interactions.read(op, "interactions table"); err != nil {
		return nil, nil, nil, err
	}
	if candidates == interactions {
		return iptr, iptr, interactions.mu.RUnlock, nil
	}
	if cptr, err = candidates.read(op, "candidates table"); err != nil {
		interactions.mu.RUnlock()
		return nil, nil, nil, err
	}
	return iptr, cptr, func() { candidates.mu.RUnlock(); interactions.mu.RUnlock() }, nil
}

// NumRows returns the number of rows; an error if the columns differ in length.
func (t *Table) NumRows() (int, error) {
	const op = "NumRows"
	ptr, err := t.read(op, "table")
	if err != nil {
		return 0, err
	}
	defer t.mu.RUnlock()
	var n C.size_t
	if err := call(op, func() C.tt_status { return C.tt_table_num_rows(ptr, &n) }); err != nil {
		return 0, err
	}
	return int(n), nil
}

// Validate checks that every column has the same length.
func (t *Table) Validate() error {
	const op = "Validate"
	ptr, err := t.read(op, "table")
	if err != nil {
		return err
	}
	defer t.mu.RUnlock()
	return call(op, func() C.tt_status { return C.tt_table_validate(ptr) })
}

// cString copies s into C memory (free it with C.free); a NUL byte inside is an error.
func cString(op, what, s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, argError(op, "%s %q contains a NUL byte", what, s)
	}
	return C.CString(s), nil
}

// cArray allocates n elements of T in C memory, as a Go slice over it (nil for n == 0).
// Release it with freeArray.
func cArray[T any](n int) []T {
	if n == 0 {
		return nil
	}
	var zero T
	p := C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(zero)))
	if p == nil {
		panic("twotower: out of C memory")
	}
	return unsafe.Slice((*T)(p), n)
}

func freeArray[T any](s []T) {
	if len(s) > 0 {
		C.free(unsafe.Pointer(&s[0]))
	}
}

// firstOrNil is &s[0], or nil for an empty slice.
func firstOrNil[T any](s []T) *T {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}
