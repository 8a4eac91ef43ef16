from models import features


def test_label_source_is_never_a_model_input():
    assert features.LABEL_SOURCE not in features.RAW_INPUT_FEATURES
    assert all(not name.startswith(features.LABEL_SOURCE) for name in features.dense_feature_names())


def test_every_raw_input_is_a_column_of_the_sample(sample_rows):
    header, _ = sample_rows
    assert set(features.RAW_INPUT_FEATURES) <= set(header)
    assert features.LABEL_SOURCE in header
