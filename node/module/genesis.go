package module

// GenesisSection is a module's section of genesis app_state, stored under
// the module's name. The app decodes app_state strictly over every
// section's default (a field left out keeps its default, an unknown field
// is an error) and commits to the canonical encoding: compact JSON with
// max_tx_bytes first, then the sections in module order, each field in
// struct order.
type GenesisSection struct {
	// Default returns a pointer to a new value holding the defaults; its
	// type is the section's type (a struct).
	Default func() any
	// Validate checks the decoded value (the pointer Default returned) and
	// may normalise it (null lists to empty ones, say) before it is
	// encoded.
	Validate func(v any) error
}
