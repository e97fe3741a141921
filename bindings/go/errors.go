package twotower

/*
#cgo pkg-config: twotower
#include <stdlib.h>
#include <twotower/twotower.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
)

// Status is a status code of the C API (tt_status). The values are fixed forever.
//
// A Status is also an error, so that errors.Is(err, twotower.StatusIO) tells what kind of
// failure an *Error reports.
type Status int

// The C API's status codes.
const (
	StatusOK              Status = C.TT_OK
	StatusInvalidArgument Status = C.TT_ERR_INVALID_ARGUMENT // a nil handle, an out-of-range option, an unknown column
	StatusIO              Status = C.TT_ERR_IO               // a file could not be opened, read or written
	StatusParse           Status = C.TT_ERR_PARSE            // malformed CSV/TSV, MovieLens files or JSON spec
	StatusCorrupt         Status = C.TT_ERR_CORRUPT          // a damaged or truncated model file or buffer
	StatusUnsupported     Status = C.TT_ERR_UNSUPPORTED      // valid input needing a feature this build lacks
	StatusCancelled       Status = C.TT_ERR_CANCELLED        // training was cancelled
	StatusInternal        Status = C.TT_ERR_INTERNAL         // a bug, or a failure inside a dependency
	StatusOutOfMemory     Status = C.TT_ERR_OUT_OF_MEMORY
)

// String returns the C name of the status: "TT_OK", "TT_ERR_IO", ...
func (s Status) String() string { return C.GoString(C.tt_status_name(C.tt_status(s))) }

// Error makes a Status usable as a target of errors.Is.
func (s Status) Error() string { return "twotower: " + s.String() }

// ErrClosed is wrapped by the error of any call on a Table or Model after its Close.
var ErrClosed = errors.New("use of a closed handle")

// Error is the error of every failed call: the operation, the C status and the library's
// message (tt_last_error), which names the file, line, field or argument at fault.
//
// errors.Is(err, twotower.StatusCorrupt) tests the status; Err, when set, is the underlying
// cause (ErrClosed, or the context's error for a cancelled training) and is what Unwrap returns.
type Error struct {
	Op      string // the method or function that failed, e.g. "Load"
	Status  Status
	Message string
	Err     error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "failed"
	}
	if e.Err != nil && e.Err != ErrClosed {
		msg += ": " + e.Err.Error()
	}
	return fmt.Sprintf("twotower: %s: %s (%s)", e.Op, msg, e.Status.String())
}

// Is reports whether target is this error's Status.
func (e *Error) Is(target error) bool {
	s, ok := target.(Status)
	return ok && s == e.Status
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// call runs f, which makes one C call, and turns a failed status into an *Error carrying the
// message tt_last_error() holds for that call. The goroutine stays on one OS thread from the
// call to the read of the message, which the C library keeps per thread.
func call(op string, f func() C.tt_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	status := f()
	if status == C.TT_OK {
		return nil
	}
	return &Error{Op: op, Status: Status(status), Message: C.GoString(C.tt_last_error())}
}

// argError is a bad argument caught by the binding before any C call.
func argError(op, format string, args ...any) error {
	return &Error{Op: op, Status: StatusInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

func closedError(op, what string) error {
	return &Error{Op: op, Status: StatusInvalidArgument, Message: "the " + what + " is closed", Err: ErrClosed}
}
