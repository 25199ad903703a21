package sdk

import "fmt"

// LogLevel is the level of a Log line.
type LogLevel int32

// Log levels, as the host's log import numbers them.
const (
	LogDebug LogLevel = 0
	LogInfo  LogLevel = 1
	LogWarn  LogLevel = 2
	LogError LogLevel = 3
)

// checkRecoverArgs validates Secp256k1Recover's inputs before they reach the
// host (which reads fixed sizes at the pointers).
func checkRecoverArgs(hash, sig []byte) error {
	if len(hash) != 32 {
		return fmt.Errorf("%w: secp256k1 recovery needs a 32-byte hash, got %d bytes", ErrInvalidSignature, len(hash))
	}
	if len(sig) != 65 {
		return fmt.Errorf("%w: secp256k1 recovery needs a 65-byte r||s||v signature, got %d bytes", ErrInvalidSignature, len(sig))
	}
	if sig[64] > 1 {
		return fmt.Errorf("%w: secp256k1 recovery id must be 0 or 1, got %d", ErrInvalidSignature, sig[64])
	}
	return nil
}

func secp256k1VerifyArgsOK(hash, sig, pub []byte) bool {
	return len(hash) == 32 && len(sig) == 64 && (len(pub) == 33 || len(pub) == 65)
}
