"""The command line: ``qcnn demo`` and ``qcnn bench``. Run ``qcnn --help``."""
import argparse
import time

import torch


def demo(args):
    """Build the paper's model, print its layers, parameter count and label entropies."""
    from .entropy import entanglement_entropy, entanglement_entropy_tn
    from .model import QCNN, parameter_count

    torch.manual_seed(args.seed)
    model = QCNN(args.d, args.n, args.image_size)
    count = sum(p.numel() for p in model.parameters())
    print(f"q-CNN d={args.d}, n={args.n}, {model.n_pixels} pixels, L={model.n_layers} layers")
    print(f"channel widths d_0..d_L+1: {model.widths}")
    print(f"parameters: {count} (eq. 46: {parameter_count(args.d, args.n, model.n_pixels)}; "
          f"eq. 47 with 2n = d, N = 256: 240d^2 + 180d = {240 * args.d**2 + 180 * args.d})")
    start = time.perf_counter()
    entropy = entanglement_entropy(model)
    elapsed = time.perf_counter() - start
    print(f"entanglement entropy at initialisation (seed {args.seed}), nats, per label:")
    print("  " + " ".join(f"{s:.4f}" for s in entropy.tolist()))
    print(f"  in {1e3 * elapsed:.1f} ms; tensornetwork cross-check agrees to "
          f"{(entropy - entanglement_entropy_tn(model)).abs().max().item():.1e}")


def bench(args):
    from .bench import bench_entropy, print_figures
    print_figures(bench_entropy())


def build_parser():
    parser = argparse.ArgumentParser(
        prog="qcnn", description="The q-CNN of 'Entangled q-Convolutional Neural Nets' "
        "(Anagiannis & Cheng 2021): models, entanglement entropy, benchmarks.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("demo", help="build a q-CNN, print its parameter count and entropies")
    p.add_argument("--d", type=int, default=18, help="channel scale: d_l = d(l+1) (default 18)")
    p.add_argument("--n", type=int, default=9, help="Fourier cutoff: d_0 = 2n (default 9)")
    p.add_argument("--image-size", type=int, default=16, help="image side, a power of two")
    p.add_argument("--seed", type=int, default=0, help="random seed of the initialisation")
    p.set_defaults(run=demo)

    p = commands.add_parser("bench", help="print timing figures, the last line as JSON")
    p.add_argument("what", choices=["entropy"], help="what to time")
    p.set_defaults(run=bench)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except ValueError as error:        # bad parameters: one clear line, no traceback
        raise SystemExit(f"qcnn: error: {error}")


if __name__ == "__main__":
    main()
