package twotower

/*
#include <twotower/twotower.h>
*/
import "C"

import (
	"fmt"
	"sync"
)

// ABIVersion is the C ABI version (TT_ABI_VERSION) this package was written for. Every
// constructor refuses to work with a library of another ABI version.
const ABIVersion = 1

// LibraryVersion is the linked library's version, "major.minor.patch".
func LibraryVersion() string { return C.GoString(C.tt_version_string()) }

// LibraryVersionNumber is the linked library's version as major*10000 + minor*100 + patch.
func LibraryVersionNumber() int { return int(C.tt_version()) }

// LibraryABIVersion is the C ABI version the linked library implements.
func LibraryABIVersion() int { return int(C.tt_abi_version()) }

// ModelFormatVersion is the model file format version the library writes; it reads every
// version from ModelFormatMinVersion to ModelFormatVersion.
func ModelFormatVersion() int { return int(C.tt_model_format_version()) }

// ModelFormatMinVersion is the oldest model file format version the library reads.
func ModelFormatMinVersion() int { return int(C.tt_model_format_min_version()) }

// checkABI is called by every constructor; its result is computed once.
var checkABI = sync.OnceValue(func() error {
	return abiMismatch(LibraryABIVersion(), int(C.TT_ABI_VERSION), ABIVersion)
})

// abiMismatch says why a library implementing ABI `library`, whose header declares ABI
// `header`, cannot be used by a binding written for ABI `binding`.
func abiMismatch(library, header, binding int) error {
	if library == binding && header == binding {
		return nil
	}
	return &Error{Op: "twotower", Status: StatusUnsupported, Message: fmt.Sprintf(
		"this Go package was written for twotower C ABI %d, but the library implements ABI %d "+
			"(its header declares %d): use the package from the same twotower release as the library",
		binding, library, header)}
}
