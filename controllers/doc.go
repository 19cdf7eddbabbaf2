// Package controllers holds the reconcilers for PushService and MobileProxy. Each
// reconciler computes the desired child objects with pure builder functions and applies
// them idempotently; the reconcile loops themselves only read, compare, apply and report.
package controllers
