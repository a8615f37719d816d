package storage

import (
	"errors"
	"strings"
	"testing"
)

func TestContinueToken(t *testing.T) {
	token, err := encodeContinue(42, "default/cm-3\x00")
	if err != nil {
		t.Fatal(err)
	}
	rev, key, err := decodeContinue(token, "default/")
	if err != nil || rev != 42 || key != "default/cm-3\x00" {
		t.Fatalf("round trip = %d %q %v, want 42 and the key", rev, key, err)
	}
	tests := []struct {
		name, token, prefix string
	}{
		{"not base64", "!!!", ""},
		{"not json", "bm90IGpzb24", ""},
		{"other namespace", token, "other/"},
		{"escaping key", mustToken(t, 1, "default/../x"), "default/"},
		{"no revision", mustToken(t, 0, "default/a"), "default/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := decodeContinue(tt.token, tt.prefix); !errors.Is(err, ErrInvalidContinue) {
				t.Errorf("decodeContinue = %v, want ErrInvalidContinue", err)
			}
		})
	}
}

func mustToken(t *testing.T, rev int64, key string) string {
	t.Helper()
	tok, err := encodeContinue(rev, key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// FuzzContinueToken: tokens come from clients, so decoding never panics,
// and whatever it accepts stays inside the listed prefix.
func FuzzContinueToken(f *testing.F) {
	f.Add(mustTokenF(f, 7, "ns/a\x00"), "ns/")
	f.Add("eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiIifQ", "")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, token, prefix string) {
		rev, key, err := decodeContinue(token, prefix)
		if err != nil {
			return
		}
		if rev <= 0 || !strings.HasPrefix(key, prefix) || strings.Contains(key, "..") {
			t.Errorf("accepted token %q for prefix %q: rev %d key %q", token, prefix, rev, key)
		}
	})
}

func mustTokenF(f *testing.F, rev int64, key string) string {
	tok, err := encodeContinue(rev, key)
	if err != nil {
		f.Fatal(err)
	}
	return tok
}
