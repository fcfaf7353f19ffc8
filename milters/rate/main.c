/* SPDX-License-Identifier: BSD-2-Clause */
/* portcullis-rate: the daemon is its descriptor (rate-milter.c) in the milter skeleton */
#include "milter-descriptors.h"

int
main(int argc, char **argv)
{
	return pc_milter_main(&rate_milter, argc, argv);
}
