// Package cmttoml reads CometBFT's config.toml into a *config.Config.
//
// CometBFT's own command line reads the file through viper, which is not in
// this module's dependency set, and no other TOML reader is. The file is
// rendered by CometBFT's template and uses a small subset of TOML: top-level
// keys, [section] tables, and single-line strings, integers, floats,
// booleans and string arrays. This package decodes exactly that subset into
// the struct through its mapstructure tags, the same mapping viper uses, and
// rejects anything else with an error naming the line, instead of guessing.
package cmttoml

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// ReadFile decodes the TOML file at path over cfg. Keys absent from the file
// keep the values already in cfg, as with viper.Unmarshal over
// cmtcfg.DefaultConfig().
func ReadFile(path string, cfg *cmtcfg.Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read CometBFT config: %w", err)
	}
	if err := Decode(data, cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Decode decodes TOML data over cfg. Unknown sections and keys are an error:
// the file is generated for this CometBFT version, so an unknown key is a
// typo that would otherwise be silently ignored.
func Decode(data []byte, cfg *cmtcfg.Config) error {
	root := reflect.ValueOf(cfg).Elem()
	section := root
	sectionName := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(stripComment(sc.Text()))
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") || strings.HasPrefix(line, "[[") {
				return fmt.Errorf("line %d: unsupported table header %q", lineNo, line)
			}
			sectionName = strings.TrimSpace(line[1 : len(line)-1])
			f, ok := field(root, sectionName)
			if !ok || f.Kind() != reflect.Pointer || f.Type().Elem().Kind() != reflect.Struct {
				return fmt.Errorf("line %d: unknown section [%s]", lineNo, sectionName)
			}
			if f.IsNil() {
				f.Set(reflect.New(f.Type().Elem()))
			}
			section = f.Elem()
			continue
		}
		key, raw, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("line %d: expected key = value, got %q", lineNo, line)
		}
		key = strings.TrimSpace(key)
		raw = strings.TrimSpace(raw)
		f, ok := field(section, key)
		if !ok {
			return fmt.Errorf("line %d: unknown key %q in section [%s]", lineNo, key, sectionName)
		}
		if err := set(f, raw); err != nil {
			return fmt.Errorf("line %d: %s: %w", lineNo, key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return nil
}

// field finds the settable field of struct v whose mapstructure name is
// name, looking through ",squash" embedded structs.
func field(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("mapstructure")
		tagName, opts, _ := strings.Cut(tag, ",")
		if opts == "squash" && sf.Anonymous {
			if f, ok := field(v.Field(i), name); ok {
				return f, true
			}
			continue
		}
		if tagName == "" {
			// mapstructure matches untagged fields by name, case-insensitively.
			tagName = sf.Name
		}
		if tagName == "-" {
			continue
		}
		if strings.EqualFold(tagName, name) {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

var durationType = reflect.TypeOf(time.Duration(0))

func set(f reflect.Value, raw string) error {
	if f.Type() == durationType {
		// Durations are written as strings ("1s"); a bare integer is
		// nanoseconds, as mapstructure would take it.
		if s, ok, err := parseString(raw); ok {
			if err != nil {
				return err
			}
			d, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("invalid duration %q: %w", s, err)
			}
			f.SetInt(int64(d))
			return nil
		}
	}
	switch f.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		// Viper decodes weakly typed, and CometBFT's template relies on it
		// (statesync.chunk_fetchers = "4"), so a quoted scalar is accepted.
		if s, ok, err := parseString(raw); ok {
			if err != nil {
				return err
			}
			raw = s
		}
	}
	switch f.Kind() {
	case reflect.String:
		s, ok, err := parseString(raw)
		if !ok {
			return fmt.Errorf("expected a string, got %s", raw)
		}
		if err != nil {
			return err
		}
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil || (raw != "true" && raw != "false") {
			return fmt.Errorf("expected true or false, got %s", raw)
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.ReplaceAll(raw, "_", ""), 0, 64)
		if err != nil {
			return fmt.Errorf("expected an integer, got %s", raw)
		}
		if f.OverflowInt(n) {
			return fmt.Errorf("%d out of range for %s", n, f.Type())
		}
		f.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.ReplaceAll(raw, "_", ""), 0, 64)
		if err != nil {
			return fmt.Errorf("expected a non-negative integer, got %s", raw)
		}
		if f.OverflowUint(n) {
			return fmt.Errorf("%d out of range for %s", n, f.Type())
		}
		f.SetUint(n)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(strings.ReplaceAll(raw, "_", ""), 64)
		if err != nil || math.IsNaN(x) {
			return fmt.Errorf("expected a number, got %s", raw)
		}
		f.SetFloat(x)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported field type %s", f.Type())
		}
		items, err := parseStrings(raw)
		if err != nil {
			return err
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported field type %s", f.Type())
	}
	return nil
}

// parseStrings reads a string list: either a TOML array of strings or, as
// viper's string-to-slice hook allows (CometBFT writes statesync.rpc_servers
// this way), one comma-separated string. An empty list is nil, matching
// CometBFT's defaults.
func parseStrings(raw string) ([]string, error) {
	if s, ok, err := parseString(raw); ok {
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, nil
		}
		return strings.Split(s, ","), nil
	}
	if !strings.HasPrefix(raw, "[") || !strings.HasSuffix(raw, "]") {
		return nil, fmt.Errorf("expected an array of strings, got %s", raw)
	}
	rest := strings.TrimSpace(raw[1 : len(raw)-1])
	var out []string
	for rest != "" {
		s, n, err := scanString(rest)
		if err != nil {
			return nil, fmt.Errorf("array %s: %w", raw, err)
		}
		out = append(out, s)
		rest = strings.TrimSpace(rest[n:])
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, fmt.Errorf("array %s: expected ',' between items", raw)
		}
		rest = strings.TrimSpace(rest[1:]) // a trailing comma is valid TOML
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// parseString parses raw as a whole quoted string. ok reports whether raw
// looks like a string at all.
func parseString(raw string) (s string, ok bool, err error) {
	if raw == "" || (raw[0] != '"' && raw[0] != '\'') {
		return "", false, nil
	}
	s, n, err := scanString(raw)
	if err != nil {
		return "", true, err
	}
	if n != len(raw) {
		return "", true, fmt.Errorf("unexpected text after string: %s", raw[n:])
	}
	return s, true, nil
}

// scanString reads one basic ("...") or literal ('...') string at the start
// of s and returns it with the number of bytes consumed.
func scanString(s string) (string, int, error) {
	if s == "" {
		return "", 0, fmt.Errorf("expected a string")
	}
	switch s[0] {
	case '\'':
		if strings.HasPrefix(s, "'''") {
			return "", 0, fmt.Errorf("multi-line strings are not supported")
		}
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", 0, fmt.Errorf("unterminated string")
		}
		return s[1 : 1+end], end + 2, nil
	case '"':
		if strings.HasPrefix(s, `"""`) {
			return "", 0, fmt.Errorf("multi-line strings are not supported")
		}
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				// TOML basic-string escapes are a subset of Go's.
				out, err := strconv.Unquote(s[:i+1])
				if err != nil {
					return "", 0, fmt.Errorf("invalid string %s: %w", s[:i+1], err)
				}
				return out, i + 1, nil
			}
		}
		return "", 0, fmt.Errorf("unterminated string")
	default:
		return "", 0, fmt.Errorf("expected a string, got %s", s)
	}
}

// stripComment removes a trailing # comment that is not inside a string.
func stripComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && c == '#':
			return line[:i]
		}
	}
	return line
}
