package twotower

/*
#include <stdlib.h>
#include <twotower/twotower.h>
*/
import "C"

import "unsafe"

// ColumnInfo describes a table column: its name, type and length (columns may differ in
// length until the table is validated).
type ColumnInfo struct {
	Name   string
	Type   DType
	Length int
}

// Columns lists the table's columns in the order they were first appended or read.
func (t *Table) Columns() ([]ColumnInfo, error) {
	const op = "Columns"
	ptr, err := t.read(op, "table")
	if err != nil {
		return nil, err
	}
	defer t.mu.RUnlock()
	var n C.size_t
	if err := call(op, func() C.tt_status { return C.tt_table_num_columns(ptr, &n) }); err != nil {
		return nil, err
	}
	out := make([]ColumnInfo, int(n))
	for i := range out {
		var name *C.char
		var typ C.tt_dtype
		var length C.size_t
		if err := call(op, func() C.tt_status { return C.tt_table_column_info(ptr, C.size_t(i), &name, &typ, &length) }); err != nil {
			return nil, err
		}
		out[i] = ColumnInfo{Name: C.GoString(name), Type: DType(typ), Length: int(length)}
	}
	return out, nil
}

// columnLength read-locks the table and returns its handle, the column's C name (free it) and
// its length; the caller must call t.mu.RUnlock when err is nil.
func (t *Table) columnLength(op, column string) (*C.tt_table, *C.char, int, error) {
	ptr, err := t.read(op, "table")
	if err != nil {
		return nil, nil, 0, err
	}
	ccol, err := cString(op, "column", column)
	if err != nil {
		t.mu.RUnlock()
		return nil, nil, 0, err
	}
	var n C.size_t
	if err := call(op, func() C.tt_status { return C.tt_table_num_columns(ptr, &n) }); err != nil {
		C.free(unsafe.Pointer(ccol))
		t.mu.RUnlock()
		return nil, nil, 0, err
	}
	for i := C.size_t(0); i < n; i++ {
		var name *C.char
		var length C.size_t
		if C.tt_table_column_info(ptr, i, &name, nil, &length) == C.TT_OK && C.GoString(name) == column {
			return ptr, ccol, int(length), nil
		}
	}
	// Unknown: the library's message lists the columns.
	var dummy C.int64_t
	err = call(op, func() C.tt_status { return C.tt_table_get_int64(ptr, ccol, 0, 0, &dummy) })
	C.free(unsafe.Pointer(ccol))
	t.mu.RUnlock()
	return nil, nil, 0, err
}

// StringColumn returns a copy of a string column's values.
func (t *Table) StringColumn(column string) ([]string, error) {
	const op = "StringColumn"
	ptr, ccol, n, err := t.columnLength(op, column)
	if err != nil {
		return nil, err
	}
	defer t.mu.RUnlock()
	defer C.free(unsafe.Pointer(ccol))
	ptrs := cArray[*C.char](max(n, 1))
	defer freeArray(ptrs)
	if err := call(op, func() C.tt_status { return C.tt_table_get_strings(ptr, ccol, 0, C.size_t(n), &ptrs[0]) }); err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		out[i] = C.GoString(ptrs[i])
	}
	return out, nil
}

// Int64Column returns a copy of an int64 column's values.
func (t *Table) Int64Column(column string) ([]int64, error) {
	return numericColumn[int64](t, "Int64Column", column, func(p *C.tt_table, c *C.char, n C.size_t, out unsafe.Pointer) C.tt_status {
		return C.tt_table_get_int64(p, c, 0, n, (*C.int64_t)(out))
	})
}

// Float32Column returns a copy of a float32 column's values.
func (t *Table) Float32Column(column string) ([]float32, error) {
	return numericColumn[float32](t, "Float32Column", column, func(p *C.tt_table, c *C.char, n C.size_t, out unsafe.Pointer) C.tt_status {
		return C.tt_table_get_float32(p, c, 0, n, (*C.float)(out))
	})
}

func numericColumn[T int64 | float32](t *Table, op, column string, get func(*C.tt_table, *C.char, C.size_t, unsafe.Pointer) C.tt_status) ([]T, error) {
	ptr, ccol, n, err := t.columnLength(op, column)
	if err != nil {
		return nil, err
	}
	defer t.mu.RUnlock()
	defer C.free(unsafe.Pointer(ccol))
	out := make([]T, max(n, 1)) // never NULL, even for an empty column
	if err := call(op, func() C.tt_status { return get(ptr, ccol, C.size_t(n), unsafe.Pointer(&out[0])) }); err != nil {
		return nil, err
	}
	return out[:n:n], nil
}

// CandidateEmbeddings returns the index's embeddings of candidates first .. first+count-1
// (ids as Query returns them), one slice of EmbeddingDim floats per candidate: the float32
// values queries score against.
func (m *Model) CandidateEmbeddings(first, count int) ([][]float32, error) {
	const op = "CandidateEmbeddings"
	if first < 0 || count < 0 {
		return nil, argError(op, "first (%d) and count (%d) must be >= 0", first, count)
	}
	ptr, err := m.shared(op)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	var dim C.size_t
	if err := call(op, func() C.tt_status { return C.tt_model_embedding_dim(ptr, &dim) }); err != nil {
		return nil, err
	}
	flat := make([]float32, max(count*int(dim), 1))
	if err := call(op, func() C.tt_status {
		return C.tt_model_candidate_embeddings(ptr, C.size_t(first), C.size_t(count),
			(*C.float)(unsafe.Pointer(&flat[0])), C.size_t(len(flat)))
	}); err != nil {
		return nil, err
	}
	out := make([][]float32, count)
	for i := range out {
		out[i] = flat[i*int(dim) : (i+1)*int(dim) : (i+1)*int(dim)]
	}
	return out, nil
}
