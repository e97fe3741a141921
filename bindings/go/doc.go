// Package twotower trains, saves, loads and queries two-tower retrieval models through the
// twotower C API (include/twotower/twotower.h), linked statically: a program built with this
// package needs no twotower shared library at run time.
//
// Build requirements: an installed twotower (cmake --install BUILD --prefix P) and
// PKG_CONFIG_PATH=P/lib/pkgconfig, which the package's "#cgo pkg-config: twotower" reads.
//
// The flow: Tables hold the data (NewTableFromColumns, ReadTableFile, LoadMovieLens); a Model
// is made from a JSON spec (NewModel, NewModelFromFile), trained (Train, cancellable through a
// context.Context), saved (Save, SaveToBytes), loaded (Load, LoadFromBytes) and queried
// (Query). Every failure is an *Error carrying the C status and the library's message.
// Tables and Models hold C memory: Close them when done (a finalizer is only a safety net).
package twotower
