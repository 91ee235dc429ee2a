//go:build tools

// Package tools pins the Pulumi CLI's main package as a dependency of this module, so that
// `go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi` resolves it with our go.mod/go.sum.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
