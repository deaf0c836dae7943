// Package schemas embeds the OpenAPI 3.1 contract of the Corsia mobile API
// (openapi.yaml): every route the server serves, with the exact JSON it
// reads and writes and its problem+json errors. The server publishes it at
// GET /openapi.yaml, the mobile apps generate their clients from it, and the
// API tests validate every answer against it.
package schemas

import _ "embed"

// OpenAPI is the contract, as YAML.
//
//go:embed openapi.yaml
var OpenAPI []byte
