//go:build !linux && !windows && !darwin

package input

// NewInjector fails: there is no input backend for this system.
func NewInjector(o InjectorOptions) (SystemInjector, error) {
	return nil, ErrUnsupported
}
