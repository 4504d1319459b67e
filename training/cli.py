"""``cnntrain``: the experiment command line (filled in by the training-runs issue)."""

import sys


def main(argv=None) -> int:
    print("error: cnntrain has no experiments yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
