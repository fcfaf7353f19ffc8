/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * milter-descriptors: the daemons that portcullis-stack can host, each the
 * descriptor its own binary runs (NAME-milter.c; main.c is one call). The
 * stack runs these very descriptors, so a daemon behaves the same alone and
 * in the stack. sign is a member only when [stack] members names it: the
 * stack then reads the private keys (docs/DESIGN.md, "Stack").
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
extern const PcMilterDescriptor sign_milter;

G_END_DECLS
