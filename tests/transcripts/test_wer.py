import jiwer

from transcripts.wer import normalize_text, number_words, word_error_rate


def test_normalization_ignores_case_punctuation_hyphens_and_number_spelling():
    assert normalize_text("Machines with AVX2, I'd say 3 times!") == "machines with avx two id say three times"
    assert (
        normalize_text("a follow-up at 2.5% of 1,200")
        == "a follow up at two point five percent of one thousand two hundred"
    )
    assert number_words(342) == "three hundred forty two"
    assert word_error_rate("About three times faster on AVX two.", "about 3 times faster on AVX2") == 0.0


def test_word_error_rate_agrees_with_jiwer():
    pairs = [
        ("the cat sat on the mat", "the cat sat on mat"),
        ("the cat sat on the mat", "a cat sat on the hat today"),
        ("one two three", ""),
        ("hello world", "hello world"),
    ]
    for ref, hyp in pairs:
        expected = jiwer.wer(normalize_text(ref), normalize_text(hyp)) if hyp else 1.0
        assert abs(word_error_rate(ref, hyp) - expected) < 1e-9
