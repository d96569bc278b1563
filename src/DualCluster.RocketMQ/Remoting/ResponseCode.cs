namespace DualCluster.RocketMQ.Remoting;

/// <summary>Response codes of the 4.x remoting protocol (fact sheet §1.9).</summary>
internal static class ResponseCode
{
    public const int Success = 0;
    public const int SystemError = 1;
    public const int SystemBusy = 2;
    public const int RequestCodeNotSupported = 3;
    public const int FlushDiskTimeout = 10;
    public const int SlaveNotAvailable = 11;
    public const int FlushSlaveTimeout = 12;
    public const int MessageIllegal = 13;
    public const int ServiceNotAvailable = 14;
    public const int VersionNotSupported = 15;
    public const int NoPermission = 16;
    public const int TopicNotExist = 17;
    public const int PullNotFound = 19;
    public const int PullRetryImmediately = 20;
    public const int PullOffsetMoved = 21;
    public const int QueryNotFound = 22;
    public const int SubscriptionParseFailed = 23;
    public const int SubscriptionNotExist = 24;
    public const int SubscriptionNotLatest = 25;
    public const int SubscriptionGroupNotExist = 26;
    public const int NoBuyerId = 204;
    public const int NotInCurrentUnit = 205;
    public const int FlowControl = 215;

    /// <summary>Whether a send response code means the broker stored the message (§2.2 response table).</summary>
    public static bool IsStored(int code) => code is Success or FlushDiskTimeout or SlaveNotAvailable or FlushSlaveTimeout;

    /// <summary>Whether the same request may succeed when repeated (throttling, unavailable broker).</summary>
    public static bool IsTransient(int code) => code is SystemBusy or ServiceNotAvailable or FlowControl;

    /// <summary>The protocol name of a code, for error messages.</summary>
    public static string Name(int code) => code switch
    {
        Success => "SUCCESS",
        SystemError => "SYSTEM_ERROR",
        SystemBusy => "SYSTEM_BUSY",
        RequestCodeNotSupported => "REQUEST_CODE_NOT_SUPPORTED",
        MessageIllegal => "MESSAGE_ILLEGAL",
        ServiceNotAvailable => "SERVICE_NOT_AVAILABLE",
        VersionNotSupported => "VERSION_NOT_SUPPORTED",
        NoPermission => "NO_PERMISSION",
        TopicNotExist => "TOPIC_NOT_EXIST",
        PullNotFound => "PULL_NOT_FOUND",
        PullRetryImmediately => "PULL_RETRY_IMMEDIATELY",
        PullOffsetMoved => "PULL_OFFSET_MOVED",
        QueryNotFound => "QUERY_NOT_FOUND",
        SubscriptionNotExist => "SUBSCRIPTION_NOT_EXIST",
        SubscriptionGroupNotExist => "SUBSCRIPTION_GROUP_NOT_EXIST",
        FlowControl => "FLOW_CONTROL",
        _ => code.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
