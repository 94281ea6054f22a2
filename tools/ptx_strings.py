# What the inline-PTX generators (tools/tensorcore-asm.py, tools/flash-attention-asm.py) share: C# const strings of asm
# lines, and register lists.


def regs(prefix, first, n=4):
    # "{p<first>, …, p<first + n − 1>}": an mma or ldmatrix operand of n registers.
    return "{" + ", ".join(f"{prefix}{first + q}" for q in range(n)) + "}"


def cs(name, lines, comment):
    # A C# `public const string` of the lines, one "…\n" literal a line.
    out = [f"    // {comment}", f"    public const string {name} ="]
    for i, l in enumerate(lines):
        end = ";" if i == len(lines) - 1 else " +"
        out.append(f'        "{l}\\n"{end}')
    return "\n".join(out)
