// Package migrations holds the database schema as plain, numbered SQL files,
// embedded in the binary. Each file runs once, in its own transaction, in
// order; applied files are recorded with their checksum so an edited file is
// refused rather than silently skipped. Files never drop clinical tables.
package migrations

import "embed"

// FS holds every NNNN_name.sql file of this directory.
//
//go:embed *.sql
var FS embed.FS
