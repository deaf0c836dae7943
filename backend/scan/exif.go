package scan

import "encoding/binary"

// jpegInfo is what the marker scan learns before any pixel is decoded.
type jpegInfo struct {
	orientation int  // EXIF IFD0 Orientation, 1..8 (1 when absent or invalid)
	progressive bool // SOF2: image/jpeg keeps every coefficient (4 bytes/sample)
	samples     int64
}

// scanJPEG walks the JPEG marker segments up to the first SOS, reading the
// EXIF orientation from APP1 and the frame header. It never reads past data
// and never allocates in proportion to the input.
func scanJPEG(data []byte) jpegInfo {
	info := jpegInfo{orientation: 1}
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return info
	}
	seenExif := false
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return info
		}
		marker := data[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			i += 2
			continue
		}
		if marker == 0xD9 || marker == 0xDA { // EOI, SOS: header is over
			return info
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return info
		}
		seg := data[i+4 : i+2+n]
		switch {
		case marker == 0xE1 && !seenExif && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00":
			seenExif = true
			info.orientation = tiffOrientation(seg[6:])
		case marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
			info.progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE
			info.samples = frameSamples(seg)
		}
		i += 2 + n
	}
	return info
}

// frameSamples counts the samples of all components of a SOF segment,
// accounting for chroma subsampling.
func frameSamples(seg []byte) int64 {
	if len(seg) < 6 {
		return 0
	}
	h := int64(binary.BigEndian.Uint16(seg[1:]))
	w := int64(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	if len(seg) < 6+3*nc || nc == 0 {
		return 0
	}
	hmax, vmax := int64(1), int64(1)
	for c := 0; c < nc; c++ {
		f := seg[6+3*c+1]
		hmax = max(hmax, int64(f>>4))
		vmax = max(vmax, int64(f&15))
	}
	var total int64
	for c := 0; c < nc; c++ {
		f := seg[6+3*c+1]
		total += w * h * max(int64(f>>4), 1) * max(int64(f&15), 1) / (hmax * vmax)
	}
	return total
}

// exifOrientation returns the EXIF orientation (1..8) of a JPEG, 1 if none.
func exifOrientation(data []byte) int { return scanJPEG(data).orientation }

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure (the body
// of an Exif APP1 segment). Any inconsistency yields 1.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	n := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 1
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ, count := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		var v int
		switch {
		case typ == 3 && count >= 1: // SHORT, stored inline
			v = int(bo.Uint16(t[e+8:]))
		case typ == 4 && count >= 1: // LONG, from sloppy writers
			v = int(bo.Uint32(t[e+8:]))
		case typ == 1 && count >= 1: // BYTE
			v = int(t[e+8])
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return v
	}
	return 1
}
