/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * milter-descriptors: the daemons that portcullis-stack can host, each the
 * descriptor its own binary runs (NAME-milter.c; main.c is one call). The
 * stack runs these very descriptors, so a daemon behaves the same alone and
 * in the stack. portcullis-sign is not among them: only its own process
 * reads private keys (docs/DESIGN.md, "Stack").
 *
 * Thread-safety: constant data.
 */
#pragma once

#include "pc-milter.h"

G_BEGIN_DECLS

extern const PcMilterDescriptor relay_milter;
extern const PcMilterDescriptor auth_milter;
extern const PcMilterDescriptor rate_milter;
extern const PcMilterDescriptor verify_milter;

G_END_DECLS
