"""``python -m voicegen`` runs the command-line interface."""

from voicegen.cli import main

if __name__ == "__main__":
    main()
