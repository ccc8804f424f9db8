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


def test_ordinals_compare_equal_written_either_way_as_whispers_own_normalizer_has_them():
    # openai-whisper's English normalizer (an implementation nobody here wrote) is the reference for which
    # spellings are the same words.
    from whisper.normalizers import EnglishTextNormalizer

    reference = EnglishTextNormalizer()
    pairs = [
        ("ship on December 15th", "ship on December fifteenth"),
        ("the 1st and the 2nd", "the first and the second"),
        ("the 3rd item", "the third item"),
        ("on January 8th", "on January eighth"),
        ("the 12th", "the twelfth"),
        ("the 20th of May", "the twentieth of May"),
        ("the 22nd of May", "the twenty-second of May"),
        ("the 21st call", "the twenty-first call"),
        ("version 3", "version three"),
        ("the 15th", "the 16th"),
        ("the 3rd", "the 30th"),
    ]
    for digits, words in pairs:
        same = reference(digits) == reference(words)
        assert (normalize_text(digits) == normalize_text(words)) == same, (digits, words)
    assert word_error_rate("ship on December fifteenth", "Ship on December 15th.") == 0.0
