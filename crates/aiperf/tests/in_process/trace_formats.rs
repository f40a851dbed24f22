//! Trace formats end to end (baseten_trace, sagemaker_data_capture, raw_payload) and the trace
//! replay flags, checked in the bodies and send times the mock received.
