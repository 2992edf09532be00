from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_COMPLETED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class SampleFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAMPLE_FORMAT_UNSPECIFIED: _ClassVar[SampleFormat]
    SAMPLE_FORMAT_F32LE: _ClassVar[SampleFormat]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_COMPLETED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
SAMPLE_FORMAT_UNSPECIFIED: SampleFormat
SAMPLE_FORMAT_F32LE: SampleFormat

class RationalTime(_message.Message):
    __slots__ = ("value", "rate_num", "rate_den")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    RATE_NUM_FIELD_NUMBER: _ClassVar[int]
    RATE_DEN_FIELD_NUMBER: _ClassVar[int]
    value: int
    rate_num: int
    rate_den: int
    def __init__(self, value: _Optional[int] = ..., rate_num: _Optional[int] = ..., rate_den: _Optional[int] = ...) -> None: ...

class Ratio(_message.Message):
    __slots__ = ("num", "den")
    NUM_FIELD_NUMBER: _ClassVar[int]
    DEN_FIELD_NUMBER: _ClassVar[int]
    num: int
    den: int
    def __init__(self, num: _Optional[int] = ..., den: _Optional[int] = ...) -> None: ...

class Window(_message.Message):
    __slots__ = ("media_start", "duration", "speed")
    MEDIA_START_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    media_start: RationalTime
    duration: RationalTime
    speed: Ratio
    def __init__(self, media_start: _Optional[_Union[RationalTime, _Mapping]] = ..., duration: _Optional[_Union[RationalTime, _Mapping]] = ..., speed: _Optional[_Union[Ratio, _Mapping]] = ...) -> None: ...

class OnsetCue(_message.Message):
    __slots__ = ("time", "label", "confidence")
    TIME_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    time: RationalTime
    label: str
    confidence: float
    def __init__(self, time: _Optional[_Union[RationalTime, _Mapping]] = ..., label: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...

class EventSpan(_message.Message):
    __slots__ = ("start", "end", "label", "confidence")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    start: RationalTime
    end: RationalTime
    label: str
    confidence: float
    def __init__(self, start: _Optional[_Union[RationalTime, _Mapping]] = ..., end: _Optional[_Union[RationalTime, _Mapping]] = ..., label: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...

class JobSpec(_message.Message):
    __slots__ = ("video_path", "upload_id", "window", "cues", "spans", "prompt", "semantic_strength", "temporal_strength", "seed", "steps", "guidance_scale", "sample_rate", "client_tag", "snap", "snap_reach_ms", "video_cues")
    VIDEO_PATH_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    CUES_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    TEMPORAL_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TAG_FIELD_NUMBER: _ClassVar[int]
    SNAP_FIELD_NUMBER: _ClassVar[int]
    SNAP_REACH_MS_FIELD_NUMBER: _ClassVar[int]
    VIDEO_CUES_FIELD_NUMBER: _ClassVar[int]
    video_path: str
    upload_id: str
    window: Window
    cues: _containers.RepeatedCompositeFieldContainer[OnsetCue]
    spans: _containers.RepeatedCompositeFieldContainer[EventSpan]
    prompt: str
    semantic_strength: float
    temporal_strength: float
    seed: int
    steps: int
    guidance_scale: float
    sample_rate: int
    client_tag: str
    snap: bool
    snap_reach_ms: float
    video_cues: bool
    def __init__(self, video_path: _Optional[str] = ..., upload_id: _Optional[str] = ..., window: _Optional[_Union[Window, _Mapping]] = ..., cues: _Optional[_Iterable[_Union[OnsetCue, _Mapping]]] = ..., spans: _Optional[_Iterable[_Union[EventSpan, _Mapping]]] = ..., prompt: _Optional[str] = ..., semantic_strength: _Optional[float] = ..., temporal_strength: _Optional[float] = ..., seed: _Optional[int] = ..., steps: _Optional[int] = ..., guidance_scale: _Optional[float] = ..., sample_rate: _Optional[int] = ..., client_tag: _Optional[str] = ..., snap: _Optional[bool] = ..., snap_reach_ms: _Optional[float] = ..., video_cues: _Optional[bool] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("video_path", "upload_id", "window", "client_tag")
    VIDEO_PATH_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TAG_FIELD_NUMBER: _ClassVar[int]
    video_path: str
    upload_id: str
    window: Window
    client_tag: str
    def __init__(self, video_path: _Optional[str] = ..., upload_id: _Optional[str] = ..., window: _Optional[_Union[Window, _Mapping]] = ..., client_tag: _Optional[str] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("onsets", "events", "fps", "model_name")
    ONSETS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    onsets: _containers.RepeatedCompositeFieldContainer[OnsetCue]
    events: _containers.RepeatedCompositeFieldContainer[EventSpan]
    fps: Ratio
    model_name: str
    def __init__(self, onsets: _Optional[_Iterable[_Union[OnsetCue, _Mapping]]] = ..., events: _Optional[_Iterable[_Union[EventSpan, _Mapping]]] = ..., fps: _Optional[_Union[Ratio, _Mapping]] = ..., model_name: _Optional[str] = ...) -> None: ...

class UploadChunk(_message.Message):
    __slots__ = ("filename", "data")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    filename: str
    data: bytes
    def __init__(self, filename: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadReceipt(_message.Message):
    __slots__ = ("upload_id", "size_bytes", "sha256")
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    size_bytes: int
    sha256: str
    def __init__(self, upload_id: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AdapterInfo(_message.Message):
    __slots__ = ("name", "default_strength", "trained")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_STRENGTH_FIELD_NUMBER: _ClassVar[int]
    TRAINED_FIELD_NUMBER: _ClassVar[int]
    name: str
    default_strength: float
    trained: bool
    def __init__(self, name: _Optional[str] = ..., default_strength: _Optional[float] = ..., trained: _Optional[bool] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_clip_ms", "max_cues", "max_spans", "max_prompt_chars", "max_upload_bytes", "max_queue", "max_steps", "max_video_pixels", "max_video_frames")
    MAX_CLIP_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_CUES_FIELD_NUMBER: _ClassVar[int]
    MAX_SPANS_FIELD_NUMBER: _ClassVar[int]
    MAX_PROMPT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_UPLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUE_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_VIDEO_PIXELS_FIELD_NUMBER: _ClassVar[int]
    MAX_VIDEO_FRAMES_FIELD_NUMBER: _ClassVar[int]
    max_clip_ms: int
    max_cues: int
    max_spans: int
    max_prompt_chars: int
    max_upload_bytes: int
    max_queue: int
    max_steps: int
    max_video_pixels: int
    max_video_frames: int
    def __init__(self, max_clip_ms: _Optional[int] = ..., max_cues: _Optional[int] = ..., max_spans: _Optional[int] = ..., max_prompt_chars: _Optional[int] = ..., max_upload_bytes: _Optional[int] = ..., max_queue: _Optional[int] = ..., max_steps: _Optional[int] = ..., max_video_pixels: _Optional[int] = ..., max_video_frames: _Optional[int] = ...) -> None: ...

class EngineInfo(_message.Message):
    __slots__ = ("engine_version", "model_name", "model_trained", "adapters", "device", "limits", "model_sample_rate", "window_samples", "default_steps", "default_guidance_scale", "model_digest", "event_detector")
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_TRAINED_FIELD_NUMBER: _ClassVar[int]
    ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    MODEL_SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_STEPS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_GUIDANCE_SCALE_FIELD_NUMBER: _ClassVar[int]
    MODEL_DIGEST_FIELD_NUMBER: _ClassVar[int]
    EVENT_DETECTOR_FIELD_NUMBER: _ClassVar[int]
    engine_version: str
    model_name: str
    model_trained: bool
    adapters: _containers.RepeatedCompositeFieldContainer[AdapterInfo]
    device: str
    limits: Limits
    model_sample_rate: int
    window_samples: int
    default_steps: int
    default_guidance_scale: float
    model_digest: str
    event_detector: bool
    def __init__(self, engine_version: _Optional[str] = ..., model_name: _Optional[str] = ..., model_trained: _Optional[bool] = ..., adapters: _Optional[_Iterable[_Union[AdapterInfo, _Mapping]]] = ..., device: _Optional[str] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., model_sample_rate: _Optional[int] = ..., window_samples: _Optional[int] = ..., default_steps: _Optional[int] = ..., default_guidance_scale: _Optional[float] = ..., model_digest: _Optional[str] = ..., event_detector: _Optional[bool] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobRef(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class Queued(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class Started(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Progress(_message.Message):
    __slots__ = ("step", "total", "stage", "window", "windows")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    step: int
    total: int
    stage: str
    window: int
    windows: int
    def __init__(self, step: _Optional[int] = ..., total: _Optional[int] = ..., stage: _Optional[str] = ..., window: _Optional[int] = ..., windows: _Optional[int] = ...) -> None: ...

class AudioInfo(_message.Message):
    __slots__ = ("sample_rate", "channels", "sample_count", "format", "byte_count", "sha256", "duration_samples")
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    BYTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    DURATION_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    sample_rate: int
    channels: int
    sample_count: int
    format: SampleFormat
    byte_count: int
    sha256: str
    duration_samples: int
    def __init__(self, sample_rate: _Optional[int] = ..., channels: _Optional[int] = ..., sample_count: _Optional[int] = ..., format: _Optional[_Union[SampleFormat, str]] = ..., byte_count: _Optional[int] = ..., sha256: _Optional[str] = ..., duration_samples: _Optional[int] = ...) -> None: ...

class Completed(_message.Message):
    __slots__ = ("audio", "model_name", "seed", "elapsed_ms")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    audio: AudioInfo
    model_name: str
    seed: int
    elapsed_ms: int
    def __init__(self, audio: _Optional[_Union[AudioInfo, _Mapping]] = ..., model_name: _Optional[str] = ..., seed: _Optional[int] = ..., elapsed_ms: _Optional[int] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("offset", "data")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    offset: int
    data: bytes
    def __init__(self, offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class Failed(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Cancelled(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "state", "snapshot", "queued", "started", "progress", "completed", "audio", "failed", "cancelled")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    snapshot: bool
    queued: Queued
    started: Started
    progress: Progress
    completed: Completed
    audio: AudioChunk
    failed: Failed
    cancelled: Cancelled
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., snapshot: _Optional[bool] = ..., queued: _Optional[_Union[Queued, _Mapping]] = ..., started: _Optional[_Union[Started, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., completed: _Optional[_Union[Completed, _Mapping]] = ..., audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., failed: _Optional[_Union[Failed, _Mapping]] = ..., cancelled: _Optional[_Union[Cancelled, _Mapping]] = ...) -> None: ...

class JobStatus(_message.Message):
    __slots__ = ("job_id", "state", "queue_position", "progress", "failed", "audio", "client_tag")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TAG_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    queue_position: int
    progress: Progress
    failed: Failed
    audio: AudioInfo
    client_tag: str
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., queue_position: _Optional[int] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., failed: _Optional[_Union[Failed, _Mapping]] = ..., audio: _Optional[_Union[AudioInfo, _Mapping]] = ..., client_tag: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    def __init__(self, state: _Optional[_Union[JobState, str]] = ...) -> None: ...
