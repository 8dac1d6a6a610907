package input

// xKeymap is a copy of an X server's core keyboard mapping: for each keycode
// from min, per keysyms (columns: unshifted, shifted, ...). It lives outside
// the Linux file so its lookups are tested everywhere.
type xKeymap struct {
	min     int
	per     int
	keysyms []uint32
}

func (m *xKeymap) count() int {
	if m.per == 0 {
		return 0
	}
	return len(m.keysyms) / m.per
}

// keycode finds the lowest keycode whose unshifted symbol is ks, else the
// lowest with ks in any column, else 0. Physical keys are pressed without
// adding modifiers, so the unshifted column is the one that matters.
func (m *xKeymap) keycode(ks uint32) (kc int, unshifted bool) {
	if ks == 0 {
		return 0, false
	}
	for i := range m.count() {
		if m.keysyms[i*m.per] == ks {
			return m.min + i, true
		}
	}
	for i := range m.count() {
		for j := 1; j < m.per; j++ {
			if m.keysyms[i*m.per+j] == ks {
				return m.min + i, false
			}
		}
	}
	return 0, false
}

// spare lists the keycodes with no symbol at all: free to bind a keysym the
// keyboard layout lacks (xdotool does the same).
func (m *xKeymap) spare() []int {
	var out []int
	for i := range m.count() {
		empty := true
		for j := range m.per {
			if m.keysyms[i*m.per+j] != 0 {
				empty = false
				break
			}
		}
		if empty {
			out = append(out, m.min+i)
		}
	}
	return out
}

// bind sets every column of kc to ks: the key then gives ks whatever
// modifiers are held.
func (m *xKeymap) bind(kc int, ks uint32) []uint32 {
	i := kc - m.min
	row := m.keysyms[i*m.per : (i+1)*m.per]
	for j := range row {
		row[j] = 0
	}
	row[0] = ks
	if len(row) > 1 {
		row[1] = ks
	}
	return row
}
