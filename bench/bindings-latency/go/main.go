// Issue 18, "small catalogues without overhead": the Go binding's layer of
// bench/bindings-latency.sh. Loads the raw float32 files the script wrote, builds a
// twotower.Index with the library defaults and times Index.Search one query ([][]float32 of one
// row) at a time, after warm untimed queries; prints RESULT layer p50_ms p99_ms sum-of-top-keys.
//
//	go run . DIR N D Q K WARM
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"time"

	"twotower"
)

func readRows(path string, n, d int) [][]float32 {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) < n*d*4 {
		fail(fmt.Errorf("cannot read %d x %d floats from %s: %v", n, d, path, err))
	}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = make([]float32, d)
		for j := range rows[i] {
			rows[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[(i*d+j)*4:]))
		}
	}
	return rows
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "latency-go:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 7 {
		fail(fmt.Errorf("usage: latency-go DIR N D Q K WARM"))
	}
	var v [5]int
	for i := range v {
		x, err := strconv.Atoi(os.Args[i+2])
		if err != nil {
			fail(err)
		}
		v[i] = x
	}
	n, d, q, k, warm := v[0], v[1], v[2], v[3], v[4]
	base := readRows(os.Args[1]+"/base.f32", n, d)
	queries := readRows(os.Args[1]+"/queries.f32", q, d)

	index, err := twotower.NewIndex(d, nil)
	if err != nil {
		fail(err)
	}
	defer index.Close()
	if err := index.Add(base, nil); err != nil {
		fail(err)
	}
	opts := &twotower.QueryOptions{K: k}
	for i := 0; i < warm; i++ {
		if _, err := index.Search(queries[i%q:i%q+1], opts); err != nil {
			fail(err)
		}
	}
	ms := make([]float64, q)
	var top int64
	for i := 0; i < q; i++ {
		t0 := time.Now()
		res, err := index.Search(queries[i:i+1], opts)
		ms[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
		if err != nil {
			fail(err)
		}
		top += res[0].IDs[0]
	}
	sort.Float64s(ms)
	fmt.Printf("RESULT Go %.4f %.4f %d\n", ms[q/2], ms[q*99/100], top)
}
