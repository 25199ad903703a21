package sqlstate

import (
	"strings"

	"modernc.org/sqlite"
)

// deterministicFunctions is the allow-list of SQL functions the write path may
// call. It is an allow-list, not a deny-list, so that a function added by a
// future SQLite release is refused until someone has checked it.
//
// Left out on purpose: random, randomblob (randomness); date, time,
// datetime, julianday, unixepoch, strftime, timediff, current_* (wall
// clock); changes, total_changes, last_insert_rowid (connection history);
// avg, total, round and the math functions (floating point); printf/format
// (float formatting); sqlite_* (build-specific); load_extension.
var deterministicFunctions = map[string]bool{
	"abs": true, "char": true, "coalesce": true, "concat": true, "concat_ws": true,
	"count": true, "glob": true, "group_concat": true, "hex": true, "ifnull": true,
	"iif": true, "instr": true, "length": true, "like": true, "likelihood": true,
	"likely": true, "lower": true, "ltrim": true, "max": true, "min": true,
	"nullif": true, "octet_length": true, "quote": true, "replace": true,
	"rtrim": true, "sign": true, "string_agg": true, "substr": true,
	"substring": true, "sum": true, "trim": true, "typeof": true, "unhex": true,
	"unicode": true, "unlikely": true, "upper": true, "zeroblob": true,
	// JSON functions are deterministic over their text input.
	"json": true, "json_array": true, "json_array_length": true, "json_extract": true,
	"json_insert": true, "json_object": true, "json_patch": true, "json_quote": true,
	"json_remove": true, "json_replace": true, "json_set": true, "json_type": true,
	"json_valid": true, "json_group_array": true, "json_group_object": true,
	"json_each": true, "json_tree": true, "->": true, "->>": true,
}

// readOnlyPragmas are the schema introspection pragmas the node itself uses.
// Their argument is a table or index name, never a setting.
var readOnlyPragmas = map[string]bool{
	"table_list": true, "table_info": true, "table_xinfo": true,
	"index_list": true, "index_info": true, "index_xinfo": true,
	"foreign_key_list": true, "foreign_key_check": true, "integrity_check": true,
}

// writeAuthorizer refuses, at statement compile time, everything on the write
// path that could make two nodes compute different state. It records the
// reason of the last refusal in *denied so the caller can turn SQLite's bare
// "not authorized" into a clear error.
func writeAuthorizer(denied *string) sqlite.AuthorizerFn {
	return func(action sqlite.AuthorizerActionCode, arg1, arg2, _, _ string) sqlite.AuthorizerReturnCode {
		deny := func(reason string) sqlite.AuthorizerReturnCode {
			*denied = reason
			return sqlite.AuthorizerDeny
		}
		switch action {
		case sqlite.AuthFunction:
			if !deterministicFunctions[strings.ToLower(arg2)] {
				return deny("SQL function " + arg2 + "() is not deterministic or not allowed in state")
			}
		case sqlite.AuthPragma:
			if !readOnlyPragmas[strings.ToLower(arg1)] {
				return deny("PRAGMA " + arg1 + " is not allowed on the state connection")
			}
		case sqlite.AuthAttach, sqlite.AuthDetach:
			return deny("ATTACH/DETACH is not allowed on the state connection")
		case sqlite.AuthAnalyze:
			// Statistics change query plans, and with them the order of
			// unordered results.
			return deny("ANALYZE is not allowed: statistics would change query plans")
		case sqlite.AuthCreateVTable, sqlite.AuthDropVTable:
			return deny("virtual tables are not allowed in state")
		case sqlite.AuthCreateTempTable, sqlite.AuthCreateTempIndex, sqlite.AuthCreateTempTrigger,
			sqlite.AuthCreateTempView, sqlite.AuthDropTempTable, sqlite.AuthDropTempIndex,
			sqlite.AuthDropTempTrigger, sqlite.AuthDropTempView:
			return deny("temporary objects are not allowed on the state connection")
		}
		return sqlite.AuthorizerOK
	}
}
