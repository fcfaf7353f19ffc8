/* SPDX-License-Identifier: BSD-2-Clause */
/* portcullis-sign: the daemon is its descriptor (sign-milter.c) in the milter skeleton */
#include "milter-descriptors.h"

int
main(int argc, char **argv)
{
	return pc_milter_main(&sign_milter, argc, argv);
}
