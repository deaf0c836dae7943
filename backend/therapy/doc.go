// Package therapy is the single therapy sheet and bedside administration:
// prescriptions and their versions, dose schedules expanded in the
// facility's time zone, the medication administration record (MAR), the
// rights checked when a pack is scanned, and the recording of every dose
// exactly once.
package therapy
