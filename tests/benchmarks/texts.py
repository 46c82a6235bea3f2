"""The texts the benchmark streams."""


def markdown_answer(size: int) -> str:
    block = (
        "## A heading for this part\n\n"
        "Some **bold** text, some `code`, and a [link](https://example.com) in a paragraph that is long "
        "enough to wrap on a narrow terminal.\n\n"
        "- first item\n- second item with *emphasis*\n- third item\n\n"
        "```python\ndef f(x):\n    return x * 2\n```\n\n"
    )
    return (block * (size // len(block) + 1))[:size]
