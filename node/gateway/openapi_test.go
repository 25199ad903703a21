package gateway

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/idos-network/idos-node/node/wire"
)

// TestOpenAPIDocumentsEveryRoute keeps docs/gateway-openapi.yaml and the
// router in step: every route and method is documented with an error
// response, nothing undocumented is served, nothing documented is missing,
// and the error code enum is exactly the gateway's codes.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	data, err := os.ReadFile("../../docs/gateway-openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `yaml:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string                    `yaml:"operationId"`
			Responses   map[string]map[string]any `yaml:"responses"`
		} `yaml:"paths"`
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []string `yaml:"enum"`
								} `yaml:"code"`
							} `yaml:"properties"`
						} `yaml:"error"`
					} `yaml:"properties"`
				} `yaml:"Error"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Errorf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	s, err := New(Config{ListenAddr: "127.0.0.1:0", Status: failingStatus{}})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, rt := range s.Routes() {
		ops, ok := doc.Paths[rt.Pattern]
		if !ok {
			t.Errorf("route %s is not documented", rt.Pattern)
			continue
		}
		for _, m := range rt.Methods {
			lm := strings.ToLower(m)
			served[rt.Pattern+" "+lm] = true
			op, ok := ops[lm]
			if !ok {
				t.Errorf("%s %s is not documented", m, rt.Pattern)
				continue
			}
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", m, rt.Pattern)
			}
			if _, ok := op.Responses["405"]; !ok {
				t.Errorf("%s %s does not document 405", m, rt.Pattern)
			}
			if !slices.ContainsFunc(mapsKeys(op.Responses), func(k string) bool { return strings.HasPrefix(k, "2") }) {
				t.Errorf("%s %s documents no success", m, rt.Pattern)
			}
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if !served[p+" "+m] {
				t.Errorf("documented %s %s is not served", m, p)
			}
		}
	}
	enum := doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum
	codes := wire.ErrorCodes()
	slices.Sort(enum)
	slices.Sort(codes)
	if !slices.Equal(enum, codes) {
		t.Errorf("documented error codes %v, gateway codes %v", enum, codes)
	}
}

func mapsKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
