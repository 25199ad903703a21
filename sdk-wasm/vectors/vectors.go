// Package vectors is the test-vector file format of signature plugins: the
// file `idosnode plugin test --vectors` reads and every shipped plugin
// carries as sigplugins/<name>/vectors.json (docs/spec/plugins.md, "Vectors
// file"). It is for tools and tests, not for plugins: it uses encoding/json,
// which a plugin binary must not link.
package vectors

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Expected outcomes of a vector, and the idos_verify status each stands for.
const (
	Valid            = "valid"             // status 0
	InvalidSignature = "invalid_signature" // status 1
	InvalidSigner    = "invalid_signer"    // status 2
)

// File is a vectors file. Generator, Comment, Source and Packages are
// metadata: tools keep them and ignore them. Any other field is refused, so a
// misspelt field fails instead of being skipped.
type File struct {
	// Scheme, if set, must be the scheme the module registers.
	Scheme string `json:"scheme,omitempty"`
	// Generator names the program that wrote the file, if one did.
	Generator string `json:"generator,omitempty"`
	// Comment is free text.
	Comment string `json:"comment,omitempty"`
	// Source says where the vectors come from (a spec, a library, a file).
	Source string `json:"source,omitempty"`
	// Packages are the libraries, and their exact versions, that produced
	// the vectors.
	Packages map[string]string `json:"packages,omitempty"`
	Vectors  []Vector          `json:"vectors"`
}

// Vector is one verification and its expected outcome.
type Vector struct {
	Name string `json:"name"`
	// Signer, Message and Signature are lowercase hex.
	Signer    string `json:"signer"`
	Message   string `json:"message"`
	Signature string `json:"signature"`
	// Expect is Valid, InvalidSignature or InvalidSigner.
	Expect string `json:"expect"`
	// Identifier, when Expect is Valid and it is set, is the identifier the
	// plugin must return.
	Identifier string `json:"identifier,omitempty"`
	// Source and Comment are metadata, as in File.
	Source  string `json:"source,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// ErrFormat is wrapped by every error of Parse and Read about the file's
// content (not about reading it).
var ErrFormat = errors.New("bad vectors file")

// Read reads and checks the vectors file at path.
func Read(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	f, err := Parse(b)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse decodes and checks a vectors file: known fields only, at least one
// vector, every expect one of the three outcomes, every byte string hex.
func Parse(b []byte) (File, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return File{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if dec.More() {
		return File{}, fmt.Errorf("%w: data after the JSON object", ErrFormat)
	}
	if len(f.Vectors) == 0 {
		return File{}, fmt.Errorf("%w: no vectors", ErrFormat)
	}
	for i, v := range f.Vectors {
		if _, err := Status(v.Expect); err != nil {
			return File{}, fmt.Errorf("vector %d (%s): %w", i, v.Name, err)
		}
		for _, field := range []struct{ name, hex string }{{"signer", v.Signer}, {"message", v.Message}, {"signature", v.Signature}} {
			if _, err := hex.DecodeString(field.hex); err != nil {
				return File{}, fmt.Errorf("%w: vector %d (%s): %s is not hex: %v", ErrFormat, i, v.Name, field.name, err)
			}
		}
	}
	return f, nil
}

// Status is the idos_verify status of an expected outcome.
func Status(expect string) (byte, error) {
	switch expect {
	case Valid:
		return 0, nil
	case InvalidSignature:
		return 1, nil
	case InvalidSigner:
		return 2, nil
	}
	return 0, fmt.Errorf("%w: expect %q, want %s, %s or %s", ErrFormat, expect, Valid, InvalidSignature, InvalidSigner)
}

// Expect is the outcome of an idos_verify status (0, 1 or 2).
func Expect(status byte) (string, error) {
	switch status {
	case 0:
		return Valid, nil
	case 1:
		return InvalidSignature, nil
	case 2:
		return InvalidSigner, nil
	}
	return "", fmt.Errorf("%w: status %d, want 0, 1 or 2", ErrFormat, status)
}

// Bytes decodes the hex fields of v; Parse has checked them.
func (v Vector) Bytes() (signer, message, signature []byte) {
	signer, _ = hex.DecodeString(v.Signer)
	message, _ = hex.DecodeString(v.Message)
	signature, _ = hex.DecodeString(v.Signature)
	return signer, message, signature
}

// Marshal is the canonical encoding of f: indented by one space, a final
// newline, as the shipped files are written.
func (f File) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
