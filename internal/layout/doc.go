// Package layout holds no code. Its tests enforce the repository's
// structure rules from the design: every package documents itself in
// exactly one package comment, and packages import only in the allowed
// directions (controllers never reach storage, storage never reaches the
// HTTP layer, and so on).
package layout
